"""The `sql` backend's grouped query on PostgreSQL without a series-id list: one JOIN, grouped in SQL.

A grouped query over thousands of series (an alert rule over 10,000 devices, each with a few disks) spent
most of its time outside the database the other way: reading every series' tags into Python to group them,
then sending every series id back as a bound array (psycopg dumps it client-side). Here PostgreSQL filters
the series by tenant, measurement and tags, joins their points over the primary key, and groups by the tag
values itself; only the groups' results come back. Used for group_by queries without max_groups (the
history API's capped queries keep the two-step path, which counts groups before fetching any points).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connection

from timeseries.base import FieldValue, SeriesResult, StoreQueryInvalid
from timeseries.models import DataPoint, FieldType, Series

_COLUMN = {"float": "value_float", "int": "value_int", "str": "value_str", "bool": "value_bool"}


def series_where(tenant: str, measurement: str, tags: Mapping[str, tuple[str, ...]]) -> tuple[list[str], list[Any]]:
    """WHERE terms (ANDed) and their parameters selecting the series `s` of a tenant's measurement and tags."""
    where = ["s.tenant = %s", "s.measurement = %s"]
    params: list[Any] = [tenant, measurement]
    single = {k: v[0] for k, v in tags.items() if len(v) == 1}
    if single:
        where.append("s.tags @> %s::jsonb")
        params.append(json.dumps(single))
    for key, values in sorted(tags.items()):
        if len(values) > 1:
            where.append("s.tags->>%s = ANY(%s)")
            params += [key, list(values)]
    return where, params


def fetch_grouped(
    *,
    tenant: str,
    measurement: str,
    tags: Mapping[str, tuple[str, ...]],
    group_by: Sequence[str],
    field: str,
    kind: str,
    start_ns: int,
    end_ns: int,
    bucket: int | None,
    agg: str,
) -> dict[tuple[tuple[str, str], ...], list[tuple[int, Any]]]:
    """{((tag, value), ...): [(time_ns, raw value)]}, per group of the group_by tags ("" when a series lacks one)."""
    column = _COLUMN[kind]
    # Tag names are parameters, never SQL text; a series without the tag is the "" group, as in InfluxDB.
    groups_sql = ", ".join(f"COALESCE(s.tags->>%s, '') AS g{i}" for i in range(len(group_by)))
    names = [f"g{i}" for i in range(len(group_by))]
    where, where_params = series_where(tenant, measurement, tags)
    where += ["p.field = %s", "p.time_ns >= %s", "p.time_ns < %s"]
    where_params += [field, start_ns, end_ns]
    # Floor division that is right for times before 1970 too; buckets start at multiples of the step.
    b = "p.time_ns" if bucket is None else f"(p.time_ns - (((p.time_ns %% {bucket:d}) + {bucket:d}) %% {bucket:d}))"
    inner = (
        f"SELECT {groups_sql}, {b} AS b, p.{column} AS v, p.time_ns AS t, p.series_id AS sid "  # noqa: S608
        f"FROM {DataPoint._meta.db_table} p JOIN {Series._meta.db_table} s ON s.id = p.series_id "
        f"WHERE {' AND '.join(where)}"
    )
    by = ", ".join(names)
    if bucket is None:
        sql = f"SELECT {by}, b, v FROM ({inner}) x ORDER BY {by}, t, sid"  # noqa: S608
    elif agg == "last":
        sql = (
            f"SELECT {by}, b, v FROM (SELECT {by}, b, v, ROW_NUMBER() OVER "  # noqa: S608
            f"(PARTITION BY {by}, b ORDER BY t DESC, sid DESC) AS rn FROM ({inner}) x) y WHERE rn = 1"
        )
    else:
        func = {"mean": "AVG", "min": "MIN", "max": "MAX", "sum": "SUM"}[agg]
        sql = f"SELECT {by}, b, {func}(v) FROM ({inner}) x GROUP BY {by}, b"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*group_by, *where_params])
        rows = cursor.fetchall()
    by_values: dict[tuple[str, ...], list[tuple[int, FieldValue | None]]] = defaultdict(list)
    width = len(group_by)
    for row in rows:  # keyed by the values tuple; named once per group below (10,000s of rows per rule)
        if row[width + 1] is not None:
            by_values[row[:width]].append((row[width], row[width + 1]))
    found: dict[tuple[tuple[str, str], ...], list[tuple[int, Any]]] = {}
    for values, points in by_values.items():
        if len(points) > 1:
            points.sort(key=lambda point: point[0])
        found[tuple(zip(group_by, values, strict=True))] = points
    return found


def query_grouped(
    *,
    tenant: str,
    measurement: str,
    fields: Sequence[str],
    tags: Mapping[str, tuple[str, ...]],
    group_by: Sequence[str],
    start_ns: int,
    end_ns: int,
    bucket: int | None,
    agg: str,
    convert: Callable[[Any, str, str], FieldValue],
) -> list[SeriesResult]:
    """SqlStore.query on PostgreSQL for group_by without a cap: one JOIN statement per field."""
    kinds = dict(
        FieldType.objects.filter(tenant=tenant, measurement=measurement, field__in=list(fields)).values_list(
            "field", "kind"
        )
    )
    results: list[SeriesResult] = []
    convert_agg = agg if bucket is not None else "last"
    for field in fields:
        kind = kinds.get(field)
        if kind is None:
            continue
        if bucket is not None and agg != "last" and kind in ("str", "bool"):
            raise StoreQueryInvalid(f"aggregation {agg!r} needs a numeric field; {field!r} is {kind}")
        fetched = fetch_grouped(
            tenant=tenant, measurement=measurement, tags=tags, group_by=group_by, field=field, kind=kind,
            start_ns=start_ns, end_ns=end_ns, bucket=bucket, agg=agg,
        )  # fmt: skip
        for key, points in sorted(fetched.items()):
            results.append(
                SeriesResult(
                    field=field, tags=dict(key), points=[(t, convert(v, kind, convert_agg)) for t, v in points]
                )
            )
    return results


def matching_tag_values(
    tenant: str, measurement: str, tags: Mapping[str, tuple[str, ...]], group_by: Sequence[str]
) -> list[tuple[int, dict[str, str | None]]]:
    """PostgreSQL: (id, {tag: value or None}) of the series matching the filter, reading only the named tags."""
    names = sorted({*tags, *group_by})
    columns = "".join(", tags->>%s" for _ in names)
    where = "tenant = %s AND measurement = %s"
    params: list[Any] = [*names, tenant, measurement]
    single = {k: v[0] for k, v in tags.items() if len(v) == 1}
    if single:
        where += " AND tags @> %s::jsonb"  # served by the tenant index + filter, as in _matching_series
        params.append(json.dumps(single))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id{columns} FROM {Series._meta.db_table} WHERE {where}", params)  # noqa: S608
        rows = cursor.fetchall()
    found = []
    for sid, *values in rows:
        named = dict(zip(names, values, strict=True))
        if all(named.get(k) in wanted for k, wanted in tags.items()):
            found.append((int(sid), named))
    return found
