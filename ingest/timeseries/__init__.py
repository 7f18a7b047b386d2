"""Time-series store: `get_store()` returns this process's configured backend."""

from __future__ import annotations

from ingest.timeseries.base import (
    AGGREGATIONS,
    TENANT_TAG,
    Aggregation,
    FieldValue,
    Point,
    SeriesResult,
    StoreError,
    StoreUnavailable,
    TimeSeriesStore,
)

__all__ = [
    "AGGREGATIONS",
    "TENANT_TAG",
    "Aggregation",
    "FieldValue",
    "Point",
    "SeriesResult",
    "StoreError",
    "StoreUnavailable",
    "TimeSeriesStore",
    "get_store",
]


def get_store() -> TimeSeriesStore:
    """Return the per-process store, created on first use (never at import, so after fork)."""
    raise NotImplementedError("implemented by the store backends change")
