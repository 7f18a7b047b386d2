"""The `influx` backend: writes through influxdb-client's WriteApi (/api/v2/write), reads in InfluxQL (/query).

The tenant is the TENANT_TAG tag on every point and a mandatory WHERE term on
every query. InfluxDB refuses a field whose type differs from the stored one
with a *partial* write (the other points are kept), so before writing we ask
`SHOW FIELD KEYS` for the batch's measurements and refuse the whole batch on a
conflict; see docs/timeseries.md for the remaining race.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import urllib3
from django.conf import settings
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write.point import Point as LinePoint
from influxdb_client.client.write_api import SYNCHRONOUS, WriteApi
from influxdb_client.rest import ApiException

from timeseries.base import (
    TENANT_TAG,
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
from timeseries.sql import step_ns, to_ns
from timeseries.validation import type_conflict_message, validate_points, validate_query
from timeseries.window import check_numeric, column_converter, validate_window

_KIND = {"float": "float", "integer": "int", "string": "str", "boolean": "bool"}


def quote_ident(name: str) -> str:
    """An InfluxQL double-quoted identifier: backslash and double quote escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """An InfluxQL single-quoted string literal; the scanner also decodes \\n, so newlines survive too."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return "'" + escaped + "'"


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"InfluxDB unavailable: {type(exc).__name__}: {exc}"[:500])


class InfluxStore:
    name = "influx"

    def __init__(self, *, url: str, token: str, org: str, bucket: str, database: str, timeout_ms: int) -> None:
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        self.database = database
        self.timeout_ms = timeout_ms
        self._token = token
        # Created on first use, so nothing is opened at import or before a fork.
        self._client: InfluxDBClient | None = None
        self._write_api: WriteApi | None = None
        self._http: urllib3.PoolManager | None = None

    @classmethod
    def from_settings(cls) -> InfluxStore:
        return cls(
            url=settings.INFLUX_URL,
            token=settings.INFLUX_TOKEN,
            org=settings.INFLUX_ORG,
            bucket=settings.INFLUX_BUCKET,
            database=settings.INFLUX_DATABASE,
            timeout_ms=settings.INFLUX_TIMEOUT_MS,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._http is not None:
            self._http.clear()
        self._client = self._write_api = self._http = None

    # --- transport ------------------------------------------------------------------------
    def _writer(self) -> WriteApi:
        if self._write_api is None:
            # retries=False: a request must answer within the timeout; the caller answers 503 and the client retries.
            self._client = InfluxDBClient(
                url=self.url, token=self._token or "", org=self.org, timeout=self.timeout_ms, retries=False
            )
            self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        return self._write_api

    def _request(self, method: str, path: str, fields: Mapping[str, str] | None = None) -> urllib3.BaseHTTPResponse:
        if self._http is None:
            seconds = self.timeout_ms / 1000
            self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=seconds, read=seconds), retries=False)
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Token {self._token}"
        body = None
        if fields is not None:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            response = self._http.request(method, self.url + path, body=body, headers=headers)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(exc) from exc
        if response.status >= 500:
            raise StoreUnavailable(f"InfluxDB answered {response.status} on {path}: {_text(response.data)}")
        return response

    def influxql(self, statements: Sequence[str], *, strict: bool = True) -> list[dict[str, Any]]:
        """Run `;`-joined statements in one /query call; one result per statement (errors raise when strict)."""
        fields = {"db": self.database, "q": ";\n".join(statements), "epoch": "ns"}
        response = self._request("POST", "/query", fields)
        if response.status in (401, 403):
            raise StoreError(f"InfluxDB refused the query ({response.status}): check INFLUX_TOKEN")
        try:
            payload = json.loads(response.data)
        except ValueError:
            raise StoreError(f"InfluxDB answered {response.status} with non-JSON: {_text(response.data)}") from None
        if response.status >= 400 or "error" in payload:
            raise StoreError(f"InfluxDB query error: {payload.get('error', _text(response.data))}")
        results: list[dict[str, Any]] = payload.get("results", [])
        errors = {str(r.get("error")) for r in results if "error" in r}
        if errors == {"not executed"} and len(statements) > 1:
            # InfluxDB 1.x can report only "not executed" when the whole batch failed (e.g. the database is
            # missing); the first statement on its own names the cause.
            self.influxql(statements[:1])
        if strict:
            _raise_first_error(results)
        return results

    # --- interface ------------------------------------------------------------------------
    def ping(self) -> None:
        response = self._request("GET", "/ping")
        if not 200 <= response.status < 300:
            raise StoreUnavailable(f"InfluxDB /ping answered {response.status}")

    def field_kinds(self, measurements: Sequence[str]) -> dict[tuple[str, str], str]:
        statements = [f"SHOW FIELD KEYS FROM {quote_ident(m)}" for m in measurements]
        kinds: dict[tuple[str, str], str] = {}
        for measurement, result in zip(measurements, self.influxql(statements), strict=True):
            for series in result.get("series", []):
                for name, influx_type in series.get("values", []):
                    kinds.setdefault((measurement, name), _KIND.get(influx_type, influx_type))
        return kinds

    def write(self, *, tenant: str, points: Sequence[Point]) -> None:
        if not points:
            return
        kinds = validate_points(points)
        stored = self.field_kinds(sorted({m for m, _ in kinds}))
        for (measurement, field), kind in kinds.items():
            existing = stored.get((measurement, field))
            if existing is not None and existing != kind:
                raise StoreError(type_conflict_message(measurement, field, kind, existing))
        records = [_line(tenant, point) for point in points]
        try:
            self._writer().write(bucket=self.bucket, org=self.org, record=records, write_precision=WritePrecision.NS)  # type: ignore[arg-type]
        except ApiException as exc:
            body = _text(exc.body or b"")
            if exc.status is None or exc.status >= 500:
                raise StoreUnavailable(f"InfluxDB write failed ({exc.status}): {body}") from exc
            if exc.status in (401, 403):
                raise StoreError(f"InfluxDB refused the write ({exc.status}): check INFLUX_TOKEN/INFLUX_ORG") from exc
            raise StoreError(f"InfluxDB rejected the write ({exc.status}): {body}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unavailable(exc) from exc

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
        where = [*_where_tags(tenant, wanted), f"time >= {to_ns(start)}", f"time < {to_ns(end)}"]
        groups = [quote_ident(name) for name in group_by]
        if groups and max_groups is not None:
            self._check_group_count(measurement, fields, " AND ".join(where), groups, max_groups)
        statements = [f"SHOW FIELD KEYS FROM {quote_ident(measurement)}"]
        for field in fields:
            if step is None:
                select = quote_ident(field)
                tail = ""
            else:
                select = f"{agg}({quote_ident(field)})"
                groups_with_time = [f"time({step_ns(step)}ns)", *groups]
                tail = " GROUP BY " + ", ".join(groups_with_time) + " fill(none)"
            if step is None and groups:
                tail = " GROUP BY " + ", ".join(groups)
            statements.append(
                f"SELECT {select} FROM {quote_ident(measurement)} WHERE {' AND '.join(where)}{tail}"  # noqa: S608
            )
        field_results = self.influxql(statements, strict=False)
        if "error" in field_results[0]:
            _raise_first_error(field_results)
        kinds = {
            name: _KIND.get(kind, kind)
            for series in field_results[0].get("series", [])
            for name, kind in series.get("values", [])
        }
        results: list[SeriesResult] = []
        for field, result in zip(fields, field_results[1:], strict=True):
            kind = kinds.get(field)
            if kind is None:
                continue
            if step is not None and agg != "last" and kind in ("str", "bool"):
                raise StoreQueryInvalid(f"aggregation {agg!r} needs a numeric field; {field!r} is {kind}")
            if "error" in result:
                raise StoreError(f"InfluxDB query error: {result['error']}")
            convert_agg = agg if step is not None else "last"
            found = []
            for series in result.get("series", []):
                points: list[tuple[int, FieldValue | None]] = [
                    (int(t), _convert(v, kind, convert_agg)) for t, v in series.get("values", []) if v is not None
                ]
                if points:
                    group_tags = {name: series.get("tags", {}).get(name, "") for name in group_by}
                    found.append(SeriesResult(field=field, tags=group_tags, points=points))
            if max_groups is not None and len(found) > max_groups:  # a write landed since the count
                raise StoreTooManyGroups(max_groups)
            found.sort(key=lambda r: tuple(r.tags[name] for name in group_by))
            results.extend(found)
        return results

    def window_aggregates(
        self,
        *,
        tenant: str,
        measurement: str,
        aggregates: Sequence[tuple[str, Aggregation]],
        start: datetime,
        end: datetime,
        tags: TagFilter | None = None,
        group_by: Sequence[str] = (),
    ) -> dict[tuple[str, str], dict[tuple[str, ...], FieldValue]]:
        """One SELECT of every aggregate (`mean("usage"), max("usage"), ...`) without GROUP BY time: InfluxDB
        walks each series once for all of them, where one statement per aggregate walked it once each."""
        wanted = validate_window(aggregates, tags, group_by)
        kinds = {field: kind for (_, field), kind in self.field_kinds([measurement]).items()}
        check_numeric(aggregates, kinds)
        known = [(field, agg) for field, agg in aggregates if field in kinds]
        if not known:
            return {}
        where = [*_where_tags(tenant, wanted), f"time >= {to_ns(start)}", f"time < {to_ns(end)}"]
        select = ", ".join(f"{agg}({quote_ident(field)})" for field, agg in known)
        tail = (" GROUP BY " + ", ".join(quote_ident(name) for name in group_by)) if group_by else ""
        statement = f"SELECT {select} FROM {quote_ident(measurement)} WHERE {' AND '.join(where)}{tail}"  # noqa: S608
        # Per column: where its values go and how they convert (tens of thousands of groups per statement).
        columns: list[tuple[dict[tuple[str, ...], FieldValue], Callable[[Any], FieldValue]]] = [
            ({}, column_converter(_convert, kinds[field], agg)) for field, agg in known
        ]
        for series in self.influxql([statement])[0].get("series", []):
            group_tags = series.get("tags", {})
            key = tuple([group_tags.get(name, "") for name in group_by])
            for row in series.get("values", [])[:1]:  # one row: the whole window (its time is the start)
                for (column, convert), value in zip(columns, row[1:], strict=True):
                    if value is not None:
                        column[key] = convert(value)
        return {pair: column for pair, (column, _) in zip(known, columns, strict=True) if column}

    def _check_group_count(
        self, measurement: str, fields: Sequence[str], where: str, groups: Sequence[str], max_groups: int
    ) -> None:
        """Refuse before fetching points: one count per group that has points in range, per field.

        Not SLIMIT: InfluxDB 1.6 counts series without points in the range towards SLIMIT, so a cap
        built on it would silently drop groups that do have points (tests/ingest/test_store_contract.py).
        """
        by = ", ".join(groups)
        statements = [
            f"SELECT count({quote_ident(f)}) FROM {quote_ident(measurement)} WHERE {where} GROUP BY {by}"  # noqa: S608
            for f in fields
        ]
        for result in self.influxql(statements, strict=False):
            # Errors (e.g. a field of another type) are left for the main query to report the usual way.
            if len(result.get("series", [])) > max_groups:
                raise StoreTooManyGroups(max_groups)

    def series(self, *, tenant: str, tags: TagFilter | None = None) -> list[SeriesInfo]:
        where = " AND ".join(_where_tags(tenant, validate_query("last", tags, ())))
        shown = self.influxql([f"SHOW MEASUREMENTS WHERE {where}"])[0]
        measurements = sorted({row[0] for series in shown.get("series", []) for row in series.get("values", [])})
        if not measurements:
            return []
        # Field keys are per measurement across tenants; a field this tenant never wrote finds no series below.
        pairs = sorted(self.field_kinds(measurements).items())
        statements = [
            f"SELECT last({quote_ident(f)}) FROM {quote_ident(m)} WHERE {where} GROUP BY *"  # noqa: S608
            for (m, f), _ in pairs
        ]
        found: dict[tuple[str, tuple[tuple[str, str], ...]], SeriesInfo] = {}
        for ((measurement, field), kind), result in zip(pairs, self.influxql(statements), strict=True):
            for series in result.get("series", []):
                series_tags = {k: v for k, v in series.get("tags", {}).items() if k != TENANT_TAG and v != ""}
                for time_ns, value in series.get("values", [])[:1]:
                    if value is None:
                        continue
                    key = (measurement, tuple(sorted(series_tags.items())))
                    info = found.setdefault(key, SeriesInfo(measurement=measurement, tags=series_tags))
                    # One selector per statement, so the time is the point's own (several would give epoch 0).
                    info.fields.append(
                        FieldLatest(name=field, kind=kind, time_ns=int(time_ns), value=_convert(value, kind, "last"))
                    )
        for info in found.values():
            info.fields.sort(key=lambda f: f.name)
        return [found[key] for key in sorted(found)]


def _where_tags(tenant: str, wanted: Mapping[str, tuple[str, ...]]) -> list[str]:
    where = [f"{quote_ident(TENANT_TAG)} = {quote_string(tenant)}"]
    for key, values in sorted(wanted.items()):
        # Parenthesised so an OR of values can never loosen the tenant term it is ANDed with.
        where.append("(" + " OR ".join(f"{quote_ident(key)} = {quote_string(v)}" for v in values) + ")")
    return where


def _raise_first_error(results: list[dict[str, Any]]) -> None:
    # InfluxDB marks statements after a failed one "not executed"; the cause is the other error.
    errors = [str(r["error"]) for r in results if "error" in r]
    if errors:
        causes = [e for e in errors if e != "not executed"] or errors
        raise StoreError(f"InfluxDB query error: {causes[0]}")


def _line(tenant: str, point: Point) -> str:
    line = LinePoint(point.measurement).tag(TENANT_TAG, tenant)
    for key, value in point.tags.items():
        line.tag(key, value)
    for name, field_value in point.fields.items():
        line.field(name, field_value)
    line.time(point.time_ns, WritePrecision.NS)
    return str(line.to_line_protocol())


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


def _text(data: bytes | str) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return text.strip()[:300]
