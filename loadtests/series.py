"""A run's stats series in the store: measurement `locust`, tags run/name/method, one row per endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from loadtests.models import LoadTestRun
from portal.api.errors import Unavailable
from portal.logging import store_outage
from timeseries import StoreUnavailable, get_store

MEASUREMENT = "locust"
TOTAL_NAME = "Aggregated"  # Locust's name for all endpoints together
FIELDS = ("rps", "fail_rps", "p50", "p95", "p99", "users")
MAX_ENDPOINTS = 200
_MARGIN = timedelta(minutes=1)


def run_series_query(*, run: LoadTestRun, step: timedelta | None = None) -> list[dict[str, Any]]:
    """[{name, method, time: [ISO...], rps: [...], ...}], the aggregated row first; raw points unless `step`."""
    end = (run.ended_at or max(run.last_report_at, timezone.now())) + _MARGIN
    try:
        results = get_store().query(
            tenant=str(run.organization_id),
            measurement=MEASUREMENT,
            fields=list(FIELDS),
            start=run.started_at - _MARGIN,
            end=end,
            tags={"run": str(run.uuid)},
            step=step,
            agg="mean",
            group_by=["name", "method"],
            max_groups=MAX_ENDPOINTS,
        )
    except StoreUnavailable as exc:
        store_outage.down(exc)
        raise Unavailable("the time-series store is unavailable; retry later", retry_after=5) from None
    grouped: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for result in results:
        key = (result.tags.get("name", ""), result.tags.get("method", ""))
        by_time = grouped.setdefault(key, {})
        for time_ns, value in result.points:
            by_time.setdefault(time_ns, {})[result.field] = value
    rows = []
    for (name, method), by_time in sorted(grouped.items(), key=lambda item: (item[0][0] != TOTAL_NAME, item[0])):
        times = sorted(by_time)
        row: dict[str, Any] = {
            "name": name,
            "method": method,
            "time": [datetime.fromtimestamp(t / 1e9, tz=UTC).isoformat() for t in times],
        }
        for field in FIELDS:
            row[field] = [_number(by_time[t].get(field)) for t in times]
        rows.append(row)
    return rows


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)
