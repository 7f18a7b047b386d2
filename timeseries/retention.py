"""Retention for the `sql` backend: delete points older than TIMESERIES_RETENTION_DAYS in small batches.

Each batch is its own short transaction over one (series, field) range of
the primary key, so no time index is needed and ingest keeps writing while
a large backlog is pruned. InfluxDB enforces its
own retention (retention policy / bucket retention), see docs/timeseries.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction

from timeseries.sql import db_errors

_RANGE = "series_id = %s AND field = %s AND time_ns < %s"
_BATCH_SQL = {
    # ctid/rowid: delete exactly the rows the primary-key range scan picked.
    "postgresql": "DELETE FROM ingest_datapoint WHERE ctid = ANY(ARRAY("  # noqa: S608 - constants only
    f"SELECT ctid FROM ingest_datapoint WHERE {_RANGE} LIMIT %s))",
    "sqlite": "DELETE FROM ingest_datapoint WHERE rowid IN ("  # noqa: S608 - constants only
    f"SELECT rowid FROM ingest_datapoint WHERE {_RANGE} LIMIT %s)",
}
# Every (series, field) that can have points: fields are typed per tenant and measurement.
_PAIRS = (
    "SELECT s.id, f.field FROM ingest_series s JOIN ingest_fieldtype f "
    "ON f.tenant = s.tenant AND f.measurement = s.measurement ORDER BY s.id, f.field"
)


def timeseries_prune(
    *,
    retention_days: int | None = None,
    batch_size: int = 10_000,
    now_ns: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> int:
    """Delete points older than the retention; return how many. on_batch(deleted_in_batch, total) reports progress."""
    days = settings.TIMESERIES_RETENTION_DAYS if retention_days is None else retention_days
    if days < 1 or batch_size < 1:
        raise ValueError("retention_days and batch_size must be at least 1")
    cutoff = (now_ns if now_ns is not None else time.time_ns()) - days * 86_400 * 1_000_000_000
    sql = _BATCH_SQL.get(connection.vendor)
    if sql is None:
        raise NotImplementedError(f"pruning is not implemented for {connection.vendor}")
    with db_errors(), connection.cursor() as cursor:
        cursor.execute(_PAIRS)
        pairs = cursor.fetchall()
    total = 0
    for series_id, field in pairs:
        while True:
            with db_errors(), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [series_id, field, cutoff, batch_size])
                deleted = cursor.rowcount
            total += deleted
            if on_batch is not None and deleted:
                on_batch(deleted, total)
            if deleted < batch_size:
                break
    return total
