"""The sql store's write primitives on PostgreSQL: rows by key, staged upsert, binary COPY, prepared INSERT.

Kept apart from `timeseries/sql.py` (the store's logic: types, series, transactions, queries), which calls them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connection

from portal.prepared import prepared_cursor
from timeseries.base import Point

COLUMN = {"float": "value_float", "int": "value_int", "str": "value_str", "bool": "value_bool"}
POINTS = "ingest_datapoint"
STAGING = "beacon_points_in"
VALUE_COLUMNS = ", ".join(COLUMN.values())
UPSERT = "ON CONFLICT (series_id, field, time_ns) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in COLUMN.values()
)
Rows = dict[tuple[int, str, int], tuple[Any, ...]]


@functools.lru_cache(maxsize=1024)  # the group commit's statements hold 1..GroupCommit.max_rows rows
def values_upsert(count: int) -> str:
    """One multi-row `INSERT ... ON CONFLICT DO UPDATE` for `count` rows (unique per key, as DO UPDATE needs)."""
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * count)
    return f"INSERT INTO {POINTS} (series_id, field, time_ns, {VALUE_COLUMNS}) VALUES {values} {UPSERT}"  # noqa: S608


def rows_by_key(
    points: Sequence[Point], keys: list[str], series_ids: Mapping[str, int], kinds: dict[tuple[str, str], str]
) -> dict[tuple[int, str, int], tuple[Any, ...]]:
    rows: dict[tuple[int, str, int], tuple[Any, ...]] = {}
    for point, key in zip(points, keys, strict=True):
        sid = series_ids[key]
        for name, value in point.fields.items():
            kind = kinds[(point.measurement, name)]
            # Later duplicates win, like a later write would.
            rows[(sid, name, point.time_ns)] = (
                sid,
                name,
                point.time_ns,
                value if kind == "float" else None,
                value if kind == "int" else None,
                value if kind == "str" else None,
                value if kind == "bool" else None,
            )
    return rows


def staged_upsert(raw: Any, rows: dict[tuple[int, str, int], tuple[Any, ...]], names: str, upsert: str) -> None:
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (series_id bigint, field text, time_ns bigint, "
        "value_float float8, value_int bigint, value_str text, value_bool boolean) ON COMMIT DELETE ROWS"
    )
    raw.execute(f"TRUNCATE {STAGING}")  # rows of an earlier write in the same (test) transaction
    with raw.copy(f"COPY {STAGING} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", "int8", "float8", "int8", "text", "bool"])
        for row in rows.values():
            copy.write_row(row)
    raw.execute(
        f"INSERT INTO {POINTS} (series_id, field, time_ns, {names}) "  # noqa: S608 - constants only
        f"SELECT series_id, field, time_ns, {names} FROM {STAGING} {upsert}"
    )


def upsert_rows(rows: Rows, *, small: bool) -> None:
    """Insert or overwrite `rows` ({(series, field, time): row}) on the current connection."""
    names, upsert = VALUE_COLUMNS, UPSERT
    if small:
        # One statement, one round trip; rows are already unique per key, as ON CONFLICT DO UPDATE needs.
        # On Postgres server-side binding, prepared once per connection and row count (a push repeats the same
        # few shapes): no client-side quoting, no parse/plan per push.
        with prepared_cursor() as cursor:
            cursor.execute(values_upsert(len(rows)), [value for row in rows.values() for value in row])
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Binary COPY into a per-connection temp table, then one set-based upsert: measured ~2x
            # faster than INSERT ... unnest(arrays) with Django's client-side parameter binding.
            with connection.wrap_database_errors:
                staged_upsert(cursor.cursor, rows, names, upsert)
        else:
            cursor.executemany(
                f"INSERT INTO {POINTS} (series_id, field, time_ns, {names}) "  # noqa: S608 - constants only
                f"VALUES (%s, %s, %s, %s, %s, %s, %s) {upsert}",
                list(rows.values()),
            )


_COPY_TYPES = {"float": "float8", "int": "int8", "str": "text", "bool": "bool"}


def copy_new_points(
    raw: Any, points: Sequence[Point], keys: list[str], series_ids: Mapping[str, int], kinds: dict[tuple[str, str], str]
) -> None:
    """Binary COPY of every value straight into the points table, one COPY per value kind in the batch.

    Only the kind's own value column is sent (the others default to NULL): 4 columns a row, not 7. No
    de-duplication here: a (series, field, time) twice in the batch, or already stored, fails the whole COPY
    on the primary key, and the caller takes the upsert path instead.
    """
    present = sorted(set(kinds.values()))
    single = len(present) == 1
    for kind in present:
        column = COLUMN[kind]
        with raw.copy(f"COPY {POINTS} (series_id, field, time_ns, {column}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "text", "int8", _COPY_TYPES[kind]])
            write = copy.write_row
            for point, key in zip(points, keys, strict=True):
                sid = series_ids[key]
                time_ns = point.time_ns
                measurement = point.measurement
                for name, value in point.fields.items():
                    if single or kinds[(measurement, name)] == kind:
                        write((sid, name, time_ns, value))


class _Waiting:
    __slots__ = ("done", "error", "lead", "rows")

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.done = threading.Event()
        self.lead = False  # set when the previous leader hands this write the next batch
        self.error: BaseException | None = None


class GroupCommit:
    """Concurrent small writes of one process (gunicorn gthread threads) share one INSERT: one commit.

    The first writer to arrive runs its rows at once (no timer, no added wait); writers arriving while that
    statement is in flight queue up, and when it returns the first of them runs all queued rows in one
    statement, later writers' rows winning on the same (series, field, time) as sequential writes would.
    Every writer returns only once the statement holding its rows has committed (autocommit, synchronous
    commit), so a 204 still means durable; a failed statement fails every writer of its batch (each raises a
    copy of the error: a database outage is a 503 for all of them, and none of their rows was stored).
    """

    max_rows = 1000  # per statement: 7,000 parameters

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._busy = False  # a leader is running; invariant: a non-empty queue has one

    def write(self, rows: Rows, execute: Callable[[Rows], None]) -> None:
        mine = _Waiting(rows)
        with self._lock:
            self._queue.append(mine)
            lead = not self._busy
            self._busy = True
        if not lead:
            mine.done.wait()
            if not mine.lead:
                if mine.error is not None:
                    raise _copy(mine.error) from mine.error
                return
        self._run_batch(mine, execute)

    def _run_batch(self, mine: _Waiting, execute: Callable[[Rows], None]) -> None:
        with self._lock:  # `mine` is first in the queue: the lead is handed to the queue's head
            batch: list[_Waiting] = []
            count = 0
            while self._queue and (not batch or count + len(self._queue[0].rows) <= self.max_rows):
                batch.append(self._queue.pop(0))
                count += len(batch[-1].rows)
        merged: Rows = {}
        for waiting in batch:
            merged.update(waiting.rows)
        error: BaseException | None = None
        try:
            execute(merged)
        except BaseException as exc:  # handed to every writer of the batch, then raised here too
            error = exc
        with self._lock:
            successor = self._queue[0] if self._queue else None
            if successor is None:
                self._busy = False
            else:
                successor.lead = True
        for waiting in batch:
            if waiting is not mine:
                waiting.error = error
                waiting.done.set()
        if successor is not None:
            successor.done.set()
        if error is not None:
            raise error


def _copy(error: BaseException) -> BaseException:
    """The leader's error for another thread to raise (one exception object raised in many threads would
    collect all their tracebacks); same type, so callers map it as they would their own."""
    try:
        return type(error)(*error.args)
    except Exception:
        return RuntimeError(f"the shared write failed: {type(error).__name__}: {error}")
