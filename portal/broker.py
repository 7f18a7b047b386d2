"""Celery broker transport options for settings.py: the filesystem broker's folders, or Redis' timeouts."""

from __future__ import annotations

from pathlib import Path

_FILESYSTEM_FOLDERS = {"data_folder_in": "queue", "data_folder_out": "queue", "control_folder": "control"}


def filesystem_transport_options(var_dir: Path) -> dict[str, object]:
    """kombu's filesystem transport under `var_dir/celery` (created): the embedded demo's broker."""
    options: dict[str, object] = {key: str(var_dir / "celery" / folder) for key, folder in _FILESYSTEM_FOLDERS.items()}
    for folder in set(options.values()):
        Path(str(folder)).mkdir(parents=True, exist_ok=True)
    return options


def transport_options(
    broker_url: str, *, var_dir: Path, task_time_limit: int, socket_timeout_s: float
) -> dict[str, object]:
    if broker_url.startswith("filesystem://"):
        return filesystem_transport_options(var_dir)
    return {
        # With acks_late an unacknowledged task is redelivered after the visibility timeout; keep it above
        # the hard time limit so a long task is never run twice while still running.
        "visibility_timeout": max(3600, 2 * task_time_limit),
        # kombu's Redis transport waits forever by default, so a frozen broker (stopped process, black-holed
        # network) would hang every publish, a request enqueueing on commit, and /health/ready. The worker's
        # BRPOP waits 1 s, below this timeout.
        "socket_timeout": socket_timeout_s,
        "socket_connect_timeout": socket_timeout_s,
    }
