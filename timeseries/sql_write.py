"""The sql store's write primitives on PostgreSQL: rows by key, staged upsert, binary COPY, prepared INSERT.

Kept apart from `timeseries/sql.py` (the store's logic: types, series, transactions, queries), which calls them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

from timeseries.base import Point

COLUMN = {"float": "value_float", "int": "value_int", "str": "value_str", "bool": "value_bool"}
POINTS = "ingest_datapoint"
STAGING = "beacon_points_in"


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


_preparing_cursor: Any = None


def prepared_execute(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """Run `sql` as a prepared statement (server-side binding; prepared on first use per connection).

    Django turns psycopg's automatic preparing off (for transaction-mode poolers; PgBouncer >= 1.21 handles
    protocol-level prepared statements), so this cursor asks for it; Django wraps it like any cursor of the
    connection (query log, execute wrappers, error translation).
    """
    global _preparing_cursor
    if _preparing_cursor is None:  # built on first use: the SQLite store never imports the Postgres backend
        from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

        class PreparingCursor(ServerBindingCursor):  # type: ignore[misc]
            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                return super().execute(query, params, prepare=True)

        _preparing_cursor = PreparingCursor
    with connection._prepare_cursor(_preparing_cursor(cursor.cursor.connection)) as bound:  # type: ignore[attr-defined]
        bound.execute(sql, params)


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
