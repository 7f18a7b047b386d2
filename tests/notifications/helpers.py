"""Helpers shared by the notification tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

from notifications.services import notification_send

DEFAULTS: dict[str, Any] = {
    "kind": "quota.threshold",
    "event_type": "quota.threshold_crossed",
    "dedup_key": "quota:1:2026-01-01:80",
    "subject": "api: 80 % of the monthly quota used",
    "text": "80 % used",
    "payload": {"service": "api", "threshold": 80},
}


def send(organization: Any, **overrides: Any) -> Any:
    """notification_send with a quota-like default for every argument not given."""
    return notification_send(organization=organization, **{**DEFAULTS, **overrides})


def run_concurrently(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run `work` in `count` threads released together; each has its own database connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(work())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], errors
    return results
