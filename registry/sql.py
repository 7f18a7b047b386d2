"""The few SQL pieces that differ between PostgreSQL (production) and SQLite (the embedded demo).

Hot paths write with one statement each instead of the ORM: database-side arithmetic keeps concurrent
increments from being lost, and a push is one upsert of its own row, whatever else is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from registry.models import Gauge, MetricType, PushGroup

GAUGES = Gauge._meta.db_table
GROUPS = PushGroup._meta.db_table
TYPES = MetricType._meta.db_table


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def ts(value: datetime) -> Any:
    """A datetime as the driver's parameter (SQLite stores UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def plus_seconds(timestamp_sql: str, seconds_sql: str) -> str:
    """SQL for `timestamp + seconds`, both SQL expressions."""
    if is_postgres():
        return f"({timestamp_sql} + {seconds_sql} * interval '1 second')"
    # %% because the statement goes through the driver's %s formatting
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {timestamp_sql}, '+' || {seconds_sql} || ' seconds')"


def json_param() -> str:
    return "%s::jsonb" if is_postgres() else "%s"


def json_merge(old: str, new: str) -> str:
    """Top-level keys of `new` replace those of `old` (POST replaces only the names it carries)."""
    return f"({old} || {new})" if is_postgres() else f"json_patch({old}, {new})"


def in_list(values: list[Any]) -> tuple[str, list[Any]]:
    """`= ANY(%s)` (one array parameter, one statement text) or SQLite's `IN (?, ...)`."""
    if is_postgres():
        return "= ANY(%s)", [list(values)]
    return "IN (" + ",".join(["%s"] * len(values)) + ")", list(values)


def load_json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, (str, bytes)) else value


def newline() -> str:
    """SQL for the string "\\n"."""
    return "chr(10)" if is_postgres() else "char(10)"


def string_agg(expression: str) -> str:
    """SQL joining `expression` over a group into one string, in scan order: an ORDER BY of the text keys
    (collation-aware comparisons) made a 50k-series scrape 8x slower, and Prometheus needs no order."""
    if is_postgres():
        return f"string_agg({expression}, '')"
    return f"group_concat({expression}, '')"


def json_each(column: str) -> str:
    """The table function listing a JSON object's (key, value) pairs."""
    return f"jsonb_each({column})" if is_postgres() else f"json_each({column})"


def epoch(column: str) -> str:
    """SQL for a timestamp column as Unix seconds (float)."""
    if is_postgres():
        return f"EXTRACT(EPOCH FROM {column})::float8"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"
