"""The `sql` backend: series + narrow points tables in the main database (Postgres or SQLite).

Writes are one transaction: field types checked, series upserted, points
upserted on their (series, field, time) primary key so a rewrite overwrites.
On Postgres a large write is a binary COPY straight into the points table
inside a savepoint: new points (the common case) cost what a raw COPY costs.
If any (series, field, time) already exists, or repeats within the batch, the
COPY fails as a whole on the primary key, the savepoint is rolled back and the
write goes the upsert way: COPY into a temp table and one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE` (later duplicates win). A small
write (the common single push) is one prepared multi-row
`INSERT ... ON CONFLICT DO UPDATE`, shared by the small writes that arrive while
another is in flight (group commit, sql_write.GroupCommit); on SQLite an executemany. Series ids and
field types are memoised per store instance (one per process), filled only
after the transaction that saw them commits.
Buckets are integer arithmetic on epoch nanoseconds, aligned to the epoch,
identical on both databases (see docs/timeseries.md for why not date_bin).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction

from timeseries.base import (
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
)
from timeseries.memo import remember
from timeseries.models import FieldType, Series
from timeseries.sql_joined import matching_tag_values, query_grouped
from timeseries.sql_write import COLUMN, POINTS, GroupCommit, Rows, copy_new_points, rows_by_key, upsert_rows
from timeseries.validation import type_conflict_message, validate_points, validate_query
from timeseries.window import WindowAggregates, sql_window_aggregates

# Up to this many (series, field, time) rows a write uses one multi-row INSERT instead of COPY + temp table:
# for a single push the temp-table TRUNCATE and COPY round trips cost more than the rows (docs/benchmarks.md).
SMALL_WRITE_ROWS = 100
_LATEST_CHUNK = 400  # (series, field) pairs per newest-point query: 800 parameters, far below either database's cap
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def series_key(tenant: str, measurement: str, tags: Mapping[str, str]) -> str:
    canonical = json.dumps([tenant, measurement, sorted(tags.items())], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


KeyMemo = dict[tuple[str, str, tuple[tuple[str, str], ...]], str]


def _series_keys(tenant: str, points: Sequence[Point], memo: KeyMemo | None = None) -> list[str]:
    """Each point's series key; `memo` (the store's, per process) skips the JSON and SHA-256 of a series seen
    before (a pure function of its text, so it may be remembered; a sixth of a small push's store write)."""
    memo = {} if memo is None else memo
    keys = []
    # The line-protocol parser gives every line of a series the same tags dict: within this call (the points,
    # and so their dicts, alive and unchanged) its identity names the series without sorting its tags again.
    by_identity: dict[tuple[str, int], str] = {}
    for point in points:
        identity = (point.measurement, id(point.tags))
        key = by_identity.get(identity)
        if key is None:
            cheap = (tenant, point.measurement, tuple(sorted(point.tags.items())))
            key = memo.get(cheap)
            if key is None:
                key = series_key(tenant, point.measurement, point.tags)
                remember(memo, {cheap: key})
            by_identity[identity] = key
        keys.append(key)
    return keys


def to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise StoreError(f"{moment.isoformat()} has no time zone; pass an aware datetime")
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def step_ns(step: timedelta) -> int:
    value = (step.days * 86_400 + step.seconds) * 1_000_000_000 + step.microseconds * 1_000
    if value <= 0:
        raise StoreError(f"step {step} must be positive")
    return value


@contextmanager
def db_errors() -> Iterator[None]:
    """Connection trouble is retryable (StoreUnavailable → 503).

    Any other database error (a missing table, bad SQL) is a fault of ours, not of the client's
    data: it propagates as a 500 with a logged traceback, and its SQL never reaches the client.
    Everything the client can get wrong is refused before any SQL runs.
    """
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc


class SqlStore:
    """One instance per process (get_store()). Its memos only skip work whose answer cannot change:

    - series ids: a series row, once committed, is never updated or deleted (retention deletes points
      only), so key_hash -> id is fixed forever;
    - field types: a committed `ingest_fieldtype` row is never changed or deleted (a field keeps its
      first type), so a memoised type is what any later check would read; a write whose type differs
      from the memo is refused without asking the database, one that matches skips the check.
    Both are filled from transaction.on_commit, so an id or type seen only inside a transaction that
    rolled back is never remembered. Rows deleted by hand need a worker restart (docs/timeseries.md).
    """

    name = "sql"

    def __init__(self) -> None:
        self._series_ids: dict[str, int] = {}  # key_hash -> ingest_series.id
        self._kinds: dict[tuple[str, str, str], str] = {}  # (tenant, measurement, field) -> kind
        self._keys: KeyMemo = {}  # (tenant, measurement, sorted tags) -> series key
        self._group = GroupCommit()

    # --- writes ---------------------------------------------------------------------------
    def write(self, *, tenant: str, points: Sequence[Point]) -> None:
        if not points:
            return
        kinds = validate_points(points)
        unknown = self._unknown_kinds(tenant, kinds)  # refuses a memoised conflict before touching the database
        keys = _series_keys(tenant, points, self._keys)
        if not unknown:
            memo = self._series_ids
            known = {key: memo.get(key) for key in keys}
            if None not in known.values() and sum(len(p.fields) for p in points) <= SMALL_WRITE_ROWS:
                # Types checked and every series known: the write is one INSERT, which is atomic on its
                # own, so it runs without BEGIN/COMMIT round trips (durability as before: it commits
                # synchronously before returning).
                rows = rows_by_key(points, keys, known, kinds)  # type: ignore[arg-type]
                with db_errors():
                    if connection.vendor == "postgresql" and not connection.in_atomic_block:
                        # Shares one INSERT (one commit) with concurrent pushes of this process; outside a
                        # transaction only, so that it commits on its own (sql_write.GroupCommit).
                        self._group.write(rows, self._upsert_grouped)
                    else:
                        self._upsert_points(rows)
                return
        with db_errors(), transaction.atomic():
            if unknown:
                self._check_field_types(tenant, unknown)
            series_ids = self._series_ids_for(tenant, points, keys)
            if connection.vendor == "postgresql" and sum(len(p.fields) for p in points) > SMALL_WRITE_ROWS:
                self._copy_or_upsert(points, keys, series_ids, kinds)
            else:
                self._upsert_points(rows_by_key(points, keys, series_ids, kinds))

    def _copy_or_upsert(
        self, points: Sequence[Point], keys: list[str], series_ids: Mapping[str, int], kinds: dict[tuple[str, str], str]
    ) -> None:
        """COPY into the points table; on a primary-key conflict, undo it (savepoint) and upsert instead."""
        from psycopg.errors import UniqueViolation

        try:
            with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
                copy_new_points(cursor.cursor, points, keys, series_ids, kinds)
        except IntegrityError as exc:
            if not isinstance(exc.__cause__, UniqueViolation):
                raise
            self._upsert_points(rows_by_key(points, keys, series_ids, kinds))

    def _unknown_kinds(self, tenant: str, kinds: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
        unknown: dict[tuple[str, str], str] = {}
        for (measurement, field), new in sorted(kinds.items()):
            known = self._kinds.get((tenant, measurement, field))
            if known is None:
                unknown[(measurement, field)] = new
            elif known != new:
                raise StoreError(type_conflict_message(measurement, field, new, known))
        return unknown

    def _check_field_types(self, tenant: str, unknown: dict[tuple[str, str], str]) -> None:
        FieldType.objects.bulk_create(
            # Sorted, so concurrent writers take row locks in the same order and do not deadlock.
            [FieldType(tenant=tenant, measurement=m, field=f, kind=k) for (m, f), k in sorted(unknown.items())],
            ignore_conflicts=True,
        )
        measurements = {m for m, _ in unknown}
        stored = list(
            FieldType.objects.filter(tenant=tenant, measurement__in=measurements).values_list(
                "measurement", "field", "kind"
            )
        )
        for measurement, field, kind in stored:
            new = unknown.get((measurement, field))
            if new is not None and new != kind:
                raise StoreError(type_conflict_message(measurement, field, new, kind))
        learned = {(tenant, m, f): k for m, f, k in stored}
        transaction.on_commit(lambda: remember(self._kinds, learned))

    def _series_ids_for(self, tenant: str, points: Sequence[Point], keys: list[str]) -> dict[str, int]:
        memo = self._series_ids
        found: dict[str, int] = {}
        wanted: dict[str, Series] = {}
        for point, key in zip(points, keys, strict=True):
            if key in found or key in wanted:
                continue
            sid = memo.get(key)
            if sid is not None:
                found[key] = sid
            else:
                wanted[key] = Series(tenant=tenant, measurement=point.measurement, tags=dict(point.tags), key_hash=key)
        if not wanted:
            return found
        learned = dict(Series.objects.filter(key_hash__in=list(wanted)).values_list("key_hash", "id"))
        missing = [series for key, series in sorted(wanted.items()) if key not in learned]
        if missing:
            Series.objects.bulk_create(missing, ignore_conflicts=True)
            learned.update(
                Series.objects.filter(key_hash__in=[s.key_hash for s in missing]).values_list("key_hash", "id")
            )
        transaction.on_commit(lambda: remember(memo, learned))
        found.update(learned)
        return found

    def _upsert_grouped(self, rows: Rows) -> None:
        self._upsert_points(rows, one_statement=True)  # in autocommit: the staged path needs a transaction

    def _upsert_points(self, rows: Rows, *, one_statement: bool = False) -> None:
        upsert_rows(rows, small=len(rows) <= SMALL_WRITE_ROWS or one_statement)

    # --- reads ----------------------------------------------------------------------------
    def query(
        self,
        *,
        tenant: str,
        measurement: str,
        fields: Sequence[str],
        start: datetime,
        end: datetime,
        tags: TagFilter | None = None,
        step: timedelta | None = None,
        agg: Aggregation = "mean",
        group_by: Sequence[str] = (),
        max_groups: int | None = None,
    ) -> list[SeriesResult]:
        wanted = validate_query(agg, tags, group_by, max_groups)
        start_ns, end_ns = to_ns(start), to_ns(end)
        bucket = step_ns(step) if step is not None else None
        results: list[SeriesResult] = []
        with db_errors():
            if group_by and max_groups is None and connection.vendor == "postgresql":
                return query_grouped(
                    tenant=tenant, measurement=measurement, fields=fields, tags=wanted, group_by=group_by,
                    start_ns=start_ns, end_ns=end_ns, bucket=bucket, agg=agg, convert=_convert,
                )  # fmt: skip
            groups = self._groups(tenant, measurement, wanted, group_by)
            if not groups:
                return []
            kinds = dict(
                FieldType.objects.filter(tenant=tenant, measurement=measurement, field__in=list(fields)).values_list(
                    "field", "kind"
                )
            )
            for field in fields:
                kind = kinds.get(field)
                if kind is None:
                    continue
                if bucket is not None and agg != "last" and kind in ("str", "bool"):
                    raise StoreQueryInvalid(f"aggregation {agg!r} needs a numeric field; {field!r} is {kind}")
                # More candidate groups than allowed: count those with points in range (one statement that
                # stops at max_groups + 1) before fetching any of their points.
                if (
                    max_groups is not None
                    and len(groups) > max_groups
                    and self._groups_with_points(groups, field, start_ns, end_ns, max_groups + 1) > max_groups
                ):
                    raise StoreTooManyGroups(max_groups)
                fetched = self._fetch(groups, field, kind, start_ns, end_ns, bucket, agg)
                for index, points in sorted(fetched.items()):
                    results.append(SeriesResult(field=field, tags=dict(groups[index][0]), points=points))
        return results

    def _groups(
        self, tenant: str, measurement: str, tags: Mapping[str, tuple[str, ...]], group_by: Sequence[str]
    ) -> list[tuple[tuple[tuple[str, str], ...], list[int]]]:
        grouped: dict[tuple[tuple[str, str], ...], list[int]] = defaultdict(list)
        if connection.vendor == "postgresql":
            # Only the tags the filter and the grouping name, as text (tags->>'k'): decoding every series'
            # whole JSON in Python cost more than the points query for an alert rule over 10,000 devices.
            for sid, values in matching_tag_values(tenant, measurement, tags, group_by):
                grouped[tuple((name, values.get(name) or "") for name in group_by)].append(sid)
            return sorted(grouped.items())
        for sid, _measurement, series_tags in _matching_series(tenant, tags, measurement=measurement):
            # A series without a group_by tag falls in the "" group, as in InfluxDB.
            key = tuple((name, series_tags.get(name, "")) for name in group_by)
            grouped[key].append(sid)
        return sorted(grouped.items())

    @staticmethod
    def _group_index(groups: Sequence[tuple[object, list[int]]]) -> tuple[str, str, list[Any], list[int]]:
        """(JOIN clause, group index expression, its params, every series id) for one statement over all groups.

        The series ids stay in the WHERE so the planner keeps the primary-key index; the JOIN only maps each
        id to its group. On PostgreSQL the mapping is two array parameters (unnest), so a query over 10,000
        devices binds two values instead of one pair per series (a grouped alert query bound ~30,000, and
        its parse and bind cost more than the scan); on SQLite a small VALUES list (SQLite and Postgres both
        name its columns column1, column2). One group needs no mapping.
        """
        ids = [sid for _, group_ids in groups for sid in group_ids]
        if len(groups) == 1:
            return "", "0", [], ids
        if connection.vendor == "postgresql":
            index_of = [index for index, (_, group_ids) in enumerate(groups) for _ in group_ids]
            join = "JOIN unnest(%s::bigint[], %s::int[]) AS g(column1, column2) ON g.column1 = series_id"
            return join, "g.column2", [ids, index_of], ids
        pairs = [value for index, (_, group_ids) in enumerate(groups) for sid in group_ids for value in (sid, index)]
        values = ", ".join(["(%s, %s)"] * (len(pairs) // 2))
        return f"JOIN (VALUES {values}) AS g ON g.column1 = series_id", "g.column2", pairs, ids

    @staticmethod
    def _ids_in(ids: list[int]) -> tuple[str, list[Any]]:
        """`series_id` among `ids`: one array parameter on PostgreSQL, a placeholder per id on SQLite."""
        if connection.vendor == "postgresql":
            return "series_id = ANY(%s::bigint[])", [ids]
        return f"series_id IN ({', '.join(['%s'] * len(ids))})", list(ids)

    def _groups_with_points(
        self, groups: Sequence[tuple[object, list[int]]], field: str, start_ns: int, end_ns: int, limit: int
    ) -> int:
        """How many groups have a point of `field` in range, counting no further than `limit`."""
        join, grp, params, ids = self._group_index(groups)
        ids_sql, ids_params = self._ids_in(ids)
        sql = (
            f"SELECT COUNT(*) FROM (SELECT DISTINCT {grp} FROM {POINTS} {join} "  # noqa: S608 - constants only
            f"WHERE {ids_sql} AND field = %s AND time_ns >= %s AND time_ns < %s LIMIT %s) t"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *ids_params, field, start_ns, end_ns, limit])
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def _fetch(
        self,
        groups: Sequence[tuple[object, list[int]]],
        field: str,
        kind: str,
        start_ns: int,
        end_ns: int,
        bucket: int | None,
        agg: str,
    ) -> dict[int, list[tuple[int, FieldValue | None]]]:
        """{group index: points} of one field, every group in one statement."""
        column = COLUMN[kind]
        join, grp, pairs, ids = self._group_index(groups)
        ids_sql, ids_params = self._ids_in(ids)
        where = f"{ids_sql} AND field = %s AND time_ns >= %s AND time_ns < %s"
        params: list[Any] = [*pairs, *ids_params, field, start_ns, end_ns]  # the JOIN's values come first in the SQL
        if bucket is None:
            sql = (
                f"SELECT {grp} AS grp, time_ns, {column} FROM {POINTS} {join} WHERE {where} "  # noqa: S608
                "ORDER BY grp, time_ns, series_id"
            )
        else:
            # Floor division that is right for times before 1970 too; buckets start at multiples of the step.
            b = f"(time_ns - (((time_ns %% {bucket:d}) + {bucket:d}) %% {bucket:d}))"
            if agg == "last":
                sql = (
                    f"SELECT grp, b, v FROM (SELECT {grp} AS grp, {b} AS b, {column} AS v, "  # noqa: S608
                    f"ROW_NUMBER() OVER (PARTITION BY {grp}, {b} ORDER BY time_ns DESC, series_id DESC) AS rn "
                    f"FROM {POINTS} {join} WHERE {where}) t WHERE rn = 1 ORDER BY grp, b"
                )
            else:
                func = {"mean": "AVG", "min": "MIN", "max": "MAX", "sum": "SUM"}[agg]
                sql = (
                    f"SELECT {grp} AS grp, {b} AS b, {func}({column}) FROM {POINTS} {join} "  # noqa: S608
                    f"WHERE {where} GROUP BY grp, b ORDER BY grp, b"
                )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        convert_agg = agg if bucket is not None else "last"
        found: dict[int, list[tuple[int, FieldValue | None]]] = defaultdict(list)
        for index, t, v in rows:
            if v is not None:
                found[int(index)].append((int(t), _convert(v, kind, convert_agg)))
        return found

    def window_aggregates(self, **window: Any) -> WindowAggregates:
        """TimeSeriesStore.window_aggregates (keyword arguments as there), in timeseries/window.py."""
        with db_errors():
            return sql_window_aggregates(self.query, _convert, to_ns, **window)

    def series(self, *, tenant: str, tags: TagFilter | None = None) -> list[SeriesInfo]:
        wanted = validate_query("last", tags, ())
        with db_errors():
            found = sorted(_matching_series(tenant, wanted), key=lambda row: (row[1], sorted(row[2].items())))
            if not found:
                return []
            kinds: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for measurement, field, kind in FieldType.objects.filter(
                tenant=tenant, measurement__in={row[1] for row in found}
            ).values_list("measurement", "field", "kind"):
                kinds[measurement].append((field, kind))
            # Field types are per measurement; which fields a series really holds is what the newest-point
            # query finds, so every (series, field of its measurement) pair is asked and empty ones drop out.
            pairs = [(sid, field, kind) for sid, measurement, _ in found for field, kind in kinds[measurement]]
            latest: dict[int, list[FieldLatest]] = defaultdict(list)
            for start in range(0, len(pairs), _LATEST_CHUNK):
                for sid, point in _latest_points(pairs[start : start + _LATEST_CHUNK]):
                    latest[sid].append(point)
        return [
            SeriesInfo(measurement=m, tags=dict(t), fields=sorted(latest[sid], key=lambda f: f.name))
            for sid, m, t in found
            if latest[sid]
        ]

    def ping(self) -> None:
        with db_errors(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()


def _matching_series(
    tenant: str, tags: Mapping[str, tuple[str, ...]], *, measurement: str | None = None
) -> list[tuple[int, str, dict[str, str]]]:
    """(id, measurement, tags) of the tenant's series (of one measurement, if given) matching the normalized
    filter: every tag present with one of its values."""
    series = Series.objects.filter(tenant=tenant)
    if measurement is not None:
        series = series.filter(measurement=measurement)
    single = {k: v[0] for k, v in tags.items() if len(v) == 1}
    if single and connection.vendor == "postgresql":
        series = series.filter(tags__contains=single)  # jsonb @>, served by the tenant index + filter
    return [
        (sid, name, series_tags)
        for sid, name, series_tags in series.values_list("id", "measurement", "tags")
        if all(series_tags.get(k) in values for k, values in tags.items())
    ]


def _latest_points(pairs: Sequence[tuple[int, str, str]]) -> list[tuple[int, FieldLatest]]:
    """The newest point of each (series id, field, kind); pairs without points give nothing.

    The MAX is a backward probe of the (series, field, time) primary key per pair on both databases,
    so the cost is one index lookup per pair, not a scan of the device's history.
    """
    values = ", ".join(["(CAST(%s AS BIGINT), CAST(%s AS TEXT))"] * len(pairs))
    sql = (
        f"WITH pairs(series_id, field) AS (VALUES {values}) "  # noqa: S608 - placeholders only
        f"SELECT d.series_id, d.field, d.time_ns, {', '.join(COLUMN.values())} FROM pairs p "
        f"JOIN {POINTS} d ON d.series_id = p.series_id AND d.field = p.field AND d.time_ns = "
        f"(SELECT MAX(x.time_ns) FROM {POINTS} x WHERE x.series_id = p.series_id AND x.field = p.field)"
    )
    kinds = {(sid, field): kind for sid, field, kind in pairs}
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for sid, field, _ in pairs for value in (sid, field)])
        rows = cursor.fetchall()
    found = []
    for sid, field, time_ns, *columns in rows:
        kind = kinds[(sid, field)]
        value = columns[list(COLUMN).index(kind)]
        if value is not None:
            found.append(
                (sid, FieldLatest(name=field, kind=kind, time_ns=int(time_ns), value=_convert(value, kind, "last")))
            )
    return found


def _convert(value: Any, kind: str, agg: str) -> FieldValue:
    if agg == "mean":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return str(value)
