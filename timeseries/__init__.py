"""Time-series store: `get_store()` returns this process's configured backend."""

from __future__ import annotations

import os
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from timeseries.base import (
    AGGREGATIONS,
    TENANT_TAG,
    Aggregation,
    FieldLatest,
    FieldValue,
    Point,
    SeriesInfo,
    SeriesResult,
    StoreError,
    StoreQueryInvalid,
    StoreTooManyGroups,
    StoreUnavailable,
    TagFilter,
    TimeSeriesStore,
)

__all__ = [
    "AGGREGATIONS",
    "TENANT_TAG",
    "Aggregation",
    "FieldLatest",
    "FieldValue",
    "Point",
    "SeriesInfo",
    "SeriesResult",
    "StoreError",
    "StoreQueryInvalid",
    "StoreTooManyGroups",
    "StoreUnavailable",
    "TagFilter",
    "TimeSeriesStore",
    "get_store",
    "reset_store",
]

# (pid, store): a forked worker sees another pid and builds its own client instead of sharing sockets.
_cached: tuple[int, TimeSeriesStore] | None = None
_lock = threading.Lock()


def _build(backend: str) -> TimeSeriesStore:
    if backend == "sql":
        from timeseries.sql import SqlStore

        return SqlStore()
    if backend == "influx":
        from timeseries.influx import InfluxStore

        return InfluxStore.from_settings()
    raise ImproperlyConfigured(f"TIMESERIES_BACKEND={backend!r} is unknown; use 'sql' or 'influx'.")


def get_store() -> TimeSeriesStore:
    """Return the per-process store, created on first use (never at import, so after fork)."""
    global _cached
    cached = _cached
    if cached is not None and cached[0] == os.getpid():
        return cached[1]
    with _lock:
        if _cached is None or _cached[0] != os.getpid():
            _cached = (os.getpid(), _build(settings.TIMESERIES_BACKEND))
        return _cached[1]


def reset_store() -> None:
    """Drop the cached store (tests, settings changes); the next get_store() builds a new one."""
    global _cached
    with _lock:
        cached, _cached = _cached, None
    if cached is not None and cached[0] == os.getpid():
        close = getattr(cached[1], "close", None)
        if close is not None:
            close()
