"""Deleting a tenant's stored series that match tags (a device's data), on both backends, with progress.

- sql: the points of every matching series, in batches of `batch_size` rows, each batch its own short
  transaction (the retention job's statement, with no time bound), so ingest keeps writing meanwhile and a
  run cut short resumes where it stopped. Series rows stay: a series id, once committed, never changes
  (SqlStore's memo relies on it), and a series without points is not listed by `series()`.
- influx: `DROP SERIES FROM <measurement> WHERE <tenant> AND <tags>` per measurement the tenant has such
  series in (InfluxQL, 1.x and the v1 API of 2.x).
Progress goes to `on_progress(done, total)` after each series (sql) or measurement (influx).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.db import connection, transaction

from timeseries import get_store
from timeseries.base import StoreError
from timeseries.influx import InfluxStore, _where_tags, quote_ident
from timeseries.retention import _BATCH_SQL
from timeseries.sql import _matching_series, db_errors
from timeseries.validation import validate_query

Progress = Callable[[int, int], None]
_NO_BOUND = 2**63 - 1  # time_ns < this: every point


def series_delete(*, tenant: str, tags: Mapping[str, str], on_progress: Progress | None = None) -> int:
    """Delete every point of `tenant`'s series matching all `tags` (at least one, exact values) from this
    process's store; what was deleted (points on sql, measurements on influx)."""
    store = get_store()
    if isinstance(store, InfluxStore):
        return influx_delete(store, tenant=tenant, tags=tags, on_progress=on_progress)
    return sql_delete(tenant=tenant, tags=tags, on_progress=on_progress)


def _wanted(tags: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    if not tags:
        raise StoreError("a deletion needs at least one tag to match (refusing to delete a whole tenant)")
    return dict(validate_query("last", dict(tags), ()))


def sql_delete(*, tenant: str, tags: Mapping[str, str], on_progress: Progress | None, batch_size: int = 5000) -> int:
    """Delete the points of `tenant`'s series matching `tags`; the number of points deleted."""
    wanted = _wanted(tags)
    sql = _BATCH_SQL.get(connection.vendor)
    if sql is None:
        raise NotImplementedError(f"deletion is not implemented for {connection.vendor}")
    with db_errors():
        series = _matching_series(tenant, wanted)
        fields: dict[str, list[str]] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT measurement, field FROM ingest_fieldtype WHERE tenant = %s ORDER BY measurement, field",
                [tenant],
            )
            for measurement, field in cursor.fetchall():
                fields.setdefault(measurement, []).append(field)
    deleted = 0
    for done, (series_id, measurement, _tags) in enumerate(series, start=1):
        for field in fields.get(measurement, []):
            while True:
                with db_errors(), transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(sql, [series_id, field, _NO_BOUND, batch_size])
                    count = cursor.rowcount
                deleted += count
                if count < batch_size:
                    break
        if on_progress is not None:
            on_progress(done, len(series))
    if not series and on_progress is not None:
        on_progress(0, 0)
    return deleted


def influx_delete(store: InfluxStore, *, tenant: str, tags: Mapping[str, str], on_progress: Progress | None) -> int:
    """Drop `tenant`'s series matching `tags` from every measurement holding some; measurements touched."""
    where = " AND ".join(_where_tags(tenant, _wanted(tags)))
    shown = store.influxql([f"SHOW MEASUREMENTS WHERE {where}"])[0]
    measurements = sorted({row[0] for s in shown.get("series", []) for row in s.get("values", [])})
    for done, measurement in enumerate(measurements, start=1):
        store.influxql([f"DROP SERIES FROM {quote_ident(measurement)} WHERE {where}"])
        if on_progress is not None:
            on_progress(done, len(measurements))
    if not measurements and on_progress is not None:
        on_progress(0, 0)
    return len(measurements)
