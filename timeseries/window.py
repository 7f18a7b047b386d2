"""Several aggregates of several fields over one whole time window, per group, in one query.

The question an alert evaluation asks: "for every device (and disk path), the mean, max and last of
`cpu.usage` over the last minute". Ten rules over one measurement used to be ten grouped queries, each
building a result object per group; here they are one statement (PostgreSQL: one JOIN ... GROUP BY with
every aggregate in its select list; InfluxDB: one InfluxQL SELECT of several functions, in influx.py), and
the answer is plain tuples and dicts, no per-point objects.

Answer: {(field, agg): {group_by values in order: value}}, a column per aggregate; a group without a point of
a field has no entry in its columns, a field never written no columns. Aggregates are those of the store's
`query` over one bucket spanning the window, so the answers agree: `last` is the newest point (ties: the
higher series id, as the sql `last` orders them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from timeseries.base import Aggregation, FieldValue, SeriesResult, StoreQueryInvalid, TagFilter
from timeseries.models import DataPoint, FieldType, Series
from timeseries.sql_joined import series_where
from timeseries.validation import validate_query

WindowAggregates = dict[tuple[str, str], dict[tuple[str, ...], FieldValue]]
_COLUMN = {"float": "value_float", "int": "value_int", "str": "value_str", "bool": "value_bool"}
_SQL_FUNC = {"mean": "AVG(v)", "min": "MIN(v)", "max": "MAX(v)", "sum": "SUM(v)"}
_LAST = "(array_agg(v ORDER BY t DESC, sid DESC))[1]"


def validate_window(
    aggregates: Sequence[tuple[str, Aggregation]], tags: TagFilter | None, group_by: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Every aggregation and the filter checked as `query` checks them (StoreQueryInvalid); the filter, normalised."""
    for _, agg in aggregates:
        validate_query(agg, tags, group_by)
    return validate_query("last", tags, group_by)


def column_converter(
    convert: Callable[[Any, str, str], FieldValue], kind: str, agg: str
) -> Callable[[Any], FieldValue]:
    """The store's `convert` for one answer column: a float field's aggregates are floats (one builtin call each,
    over tens of thousands of groups)."""
    if kind == "float":
        return float
    return lambda value: convert(value, kind, agg)


def check_numeric(aggregates: Sequence[tuple[str, Aggregation]], kinds: Mapping[str, str]) -> None:
    for field, agg in aggregates:
        if agg != "last" and kinds.get(field) in ("str", "bool"):
            raise StoreQueryInvalid(f"aggregation {agg!r} needs a numeric field; {field!r} is {kinds[field]}")


def sql_window_aggregates(
    query: Callable[..., list[SeriesResult]],
    convert: Callable[[Any, str, str], FieldValue],
    to_ns: Callable[[datetime], int],
    *,
    tenant: str,
    measurement: str,
    aggregates: Sequence[tuple[str, Aggregation]],
    start: datetime,
    end: datetime,
    tags: TagFilter | None = None,
    group_by: Sequence[str] = (),
) -> WindowAggregates:
    """SqlStore.window_aggregates: one statement on PostgreSQL; elsewhere `query`'s raw points, aggregated here."""
    wanted = validate_window(aggregates, tags, group_by)
    if connection.vendor != "postgresql":
        return window_aggregates_from_points(
            query, tenant=tenant, measurement=measurement, aggregates=aggregates, start=start, end=end, tags=tags,
            group_by=group_by,
        )  # fmt: skip
    return window_aggregates_postgresql(
        tenant=tenant, measurement=measurement, aggregates=aggregates, tags=wanted, group_by=group_by,
        start_ns=to_ns(start), end_ns=to_ns(end), convert=convert,
    )  # fmt: skip


def window_aggregates_postgresql(
    *,
    tenant: str,
    measurement: str,
    aggregates: Sequence[tuple[str, Aggregation]],
    tags: Mapping[str, tuple[str, ...]],
    group_by: Sequence[str],
    start_ns: int,
    end_ns: int,
    convert: Callable[[Any, str, str], FieldValue],
) -> WindowAggregates:
    fields = sorted({field for field, _ in aggregates})
    kinds = dict(
        FieldType.objects.filter(tenant=tenant, measurement=measurement, field__in=fields).values_list("field", "kind")
    )
    check_numeric(aggregates, kinds)
    found: WindowAggregates = defaultdict(dict)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for field in fields:
        if field in kinds:
            by_kind[kinds[field]].append(field)
    for kind, kind_fields in sorted(by_kind.items()):  # one statement per value column (usually one)
        wanted = sorted({agg for field, agg in aggregates if field in kind_fields})
        sql, params = _statement(tenant, measurement, tags, group_by, kind, kind_fields, wanted, start_ns, end_ns)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        # Per field, per selected aggregate: the column its values go to (None: not asked for that field) and
        # its conversion; tens of thousands of rows per statement, so nothing is looked up per value.
        requested = set(aggregates)
        targets = {
            field: [
                (found[(field, agg)] if (field, agg) in requested else None, column_converter(convert, kind, agg))
                for agg in wanted
            ]
            for field in kind_fields
        }  # fmt: skip
        width = len(group_by)
        for row in rows:
            key = row[:width]
            for (column, to_value), value in zip(targets[row[width]], row[width + 1 :], strict=True):
                if column is not None and value is not None:
                    column[key] = to_value(value)
    return {pair: column for pair, column in found.items() if column}


def _statement(
    tenant: str,
    measurement: str,
    tags: Mapping[str, tuple[str, ...]],
    group_by: Sequence[str],
    kind: str,
    fields: Sequence[str],
    wanted: Sequence[str],
    start_ns: int,
    end_ns: int,
) -> tuple[str, list[Any]]:
    # Tag names are parameters, never SQL text; a series without the tag is the "" group, as in InfluxDB.
    groups = "".join(f"COALESCE(s.tags->>%s, '') AS g{i}, " for i in range(len(group_by)))
    where, series_params = series_where(tenant, measurement, tags)
    params: list[Any] = [*group_by, *series_params]
    where += [f"p.field IN ({', '.join(['%s'] * len(fields))})", "p.time_ns >= %s", "p.time_ns < %s"]
    params += [*fields, start_ns, end_ns]  # a few fields: one placeholder each
    inner = (
        f"SELECT {groups}p.field AS f, p.{_COLUMN[kind]} AS v, p.time_ns AS t, p.series_id AS sid "  # noqa: S608
        f"FROM {DataPoint._meta.db_table} p JOIN {Series._meta.db_table} s ON s.id = p.series_id "
        f"WHERE {' AND '.join(where)}"
    )
    by = "".join(f"g{i}, " for i in range(len(group_by)))
    select = ", ".join(_LAST if agg == "last" else _SQL_FUNC[agg] for agg in wanted)
    return f"SELECT {by}f, {select} FROM ({inner}) x GROUP BY {by}f", params  # noqa: S608


def window_aggregates_from_points(
    query: Callable[..., list[SeriesResult]],
    *,
    aggregates: Sequence[tuple[str, Aggregation]],
    group_by: Sequence[str],
    **window: Any,
) -> WindowAggregates:
    """Any database (the embedded SQLite demo): the raw points of each field, aggregated here."""
    found: WindowAggregates = defaultdict(dict)
    fields = sorted({field for field, _ in aggregates})
    for result in query(fields=fields, group_by=group_by, step=None, **window):
        values = [v for _, v in result.points if v is not None]
        if not values:
            continue
        key = tuple(result.tags.get(name, "") for name in group_by)
        for field, agg in aggregates:
            if field != result.field:
                continue
            if agg != "last" and isinstance(values[-1], str | bool):
                kind = "bool" if isinstance(values[-1], bool) else "str"
                raise StoreQueryInvalid(f"aggregation {agg!r} needs a numeric field; {field!r} is {kind}")
            found[(field, agg)][key] = _aggregate(values, agg)
    return dict(found)


def _aggregate(values: list[Any], agg: str) -> FieldValue:
    if agg == "last":
        return values[-1]  # points come in time order, ties by series id
    if agg == "mean":
        return float(sum(values)) / len(values)
    if agg == "sum":
        return sum(values)
    return min(values) if agg == "min" else max(values)
