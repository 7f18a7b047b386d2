"""The store's readiness check (settings.HEALTH_CHECKS) and its /api/v1/status section (settings.STATUS_SECTIONS)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from timeseries import get_store


def check_store() -> None:
    get_store().ping()


def store_status(organization: object | None = None) -> dict[str, Any]:
    """The `store` section of /api/v1/status: backend name, ping result and latency; never raises.

    Registered in settings.STATUS_SECTIONS; the store is shared by every tenant, so `organization` is unused.
    """
    started = time.perf_counter()
    try:
        store = get_store()
        backend = store.name
        store.ping()
    except Exception as exc:  # a status page reports failures, it does not fail
        result: dict[str, Any] = {
            "backend": getattr(settings, "TIMESERIES_BACKEND", "sql"),
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }
    else:
        result = {"backend": backend, "status": "ok"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result
