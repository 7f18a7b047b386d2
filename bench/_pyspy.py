"""py-spy on gunicorn's workers while a round runs: where their CPU goes, waits left out (bench/push.py --py-spy).

pyinstrument (--profile) sees only a worker's main thread; gthread requests run on the others. py-spy samples
every thread from outside; samples whose innermost frame waits (socket, lock, poll) are not CPU and are
dropped, so the shares below are of the samples that were computing.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
from pathlib import Path

_WAITING = ("Connection.wait (psycopg", "_read_from_socket", "Condition.wait", "Event.wait", "select (selectors")
_SITE = re.compile(r"\(/.*?site-packages/|\(/work/[^ ]*?/(?=[a-z_]+/)|\(/root/\.pyenv/versions/[^/]+/lib/python3\.\d+/")


def start(pids: list[int], seconds: float, out_dir: Path) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(pid),
                "-d",
                str(max(1, round(seconds))),
                "-r",
                "250",
                "-f",
                "raw",
                "--nonblocking",
                "-o",
                str(out_dir / f"pyspy-push.{pid}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def top(files: list[Path], count: int = 25) -> list[tuple[float, str]]:
    """(share of computing samples, frame) of the frames found most often on a computing stack."""
    seen: collections.Counter[str] = collections.Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            frames = stack.split(";")
            if any(marker in frames[-1] for marker in _WAITING):
                continue
            total += int(samples)
            for frame in set(frames):
                seen[_SITE.sub("(", frame)] += int(samples)
    return [(n / total, frame) for frame, n in seen.most_common(count)] if total else []
