"""Metric write and history endpoints: thin views over ingest.payloads, services and selectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import ApiKeyAuthentication
from accounts.models import ApiKey
from accounts.tenancy import request_organization
from ingest import history, payloads, selectors, services
from ingest.lineprotocol import PRECISION_NS
from ingest.scopes import METRICS_READ, METRICS_WRITE
from ingest.serializers import (
    MAX_HISTORY_FIELDS,
    DeviceSeriesListSerializer,
    HistoryQuerySerializer,
    HistorySerializer,
    MetricItemSerializer,
)
from ingest.validation import IngestLimits, PointValidator
from portal.api import opsmetrics, timeparams
from portal.api.body import read_body
from portal.api.errors import ApiError, InvalidRequest
from portal.api.negotiation import FirstRendererNegotiation
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_WRITE_RESPONSES = {
    204: OpenApiResponse(description="Every point was stored."),
    **error_responses(
        400,
        401,
        403,
        413,
        415,
        429,
        503,
        e400='Invalid body or parameter; nothing written. `{"code":"invalid","message":...,"line":N}`',
        e403="Key lacks `metrics:write`, or a device the key may not write; nothing written.",
    ),
}
# A line-protocol body: at least one line with a measurement, a field and optionally a timestamp. The
# grammar is documented in docs/api.md; the pattern only keeps generated examples from being blank.
_LINE_PROTOCOL = {"type": "string", "minLength": 1, "pattern": "\\S", "description": "InfluxDB line protocol"}


class _WriteApi(RateLimitedMixin):
    required_scope = METRICS_WRITE
    authentication_classes = [ApiKeyAuthentication]  # writes are key-only; a browser session cannot write
    parser_classes: list[Any] = []  # the body is read raw by portal.api.body (size caps, gzip)
    content_negotiation_class = FirstRendererNegotiation

    line_protocol_only = False

    def ingest(self, request: Request, *, precision: str) -> HttpResponse:
        try:
            stored = self._ingest(request, precision=precision)
        except ApiError as exc:  # counted for /-/metrics by the answer's code (points unknown: not parsed)
            opsmetrics.INGEST_BATCHES.labels(exc.code).inc()
            raise
        opsmetrics.BATCHES_STORED.inc()
        opsmetrics.POINTS_STORED.inc(stored)
        return HttpResponse(status=204)  # no body: skips DRF's rendering of an empty Response

    def _ingest(self, request: Request, *, precision: str) -> int:
        limits = IngestLimits.from_settings()
        validator = PointValidator(limits)
        raw = read_body(request._request, limits.body())
        batch = payloads.points_from_body(
            raw,
            content_type=request.META.get("CONTENT_TYPE", ""),
            precision=precision,
            validator=validator,
            default_measurement=settings.INGEST_DEFAULT_MEASUREMENT,
            line_protocol_only=self.line_protocol_only,
        )
        try:
            return services.metrics_ingest(api_key=_key(request), batch=batch).points
        except ApiError:
            opsmetrics.POINTS_REJECTED.inc(len(batch.points))
            raise


def _key(request: Request) -> ApiKey:
    # Write views authenticate by key only, so HasScope has already refused anything else.
    assert isinstance(request.auth, ApiKey)
    return request.auth


def _precision(request: Request, default: str) -> str:
    precision = request.query_params.get("precision", default) or default
    if precision not in PRECISION_NS:
        raise InvalidRequest(f"parameter 'precision': {precision!r} is not one of ns, us, ms, s")
    return precision


class MetricsWriteApi(_WriteApi):
    """The seed's JSON (one object or a list) or line protocol (`text/plain`); gzip accepted."""

    @extend_schema(
        summary="Write metrics (JSON or line protocol)",
        request={
            "application/json": PolymorphicProxySerializer(
                component_name="MetricWrite",
                # minItems 1 on the list is added by portal.api_schema.postprocess_constraints.
                serializers=[MetricItemSerializer, MetricItemSerializer(many=True)],
                resource_type_field_name=None,
                many=False,
            ),
            "text/plain": _LINE_PROTOCOL,
        },
        parameters=[OpenApiParameter("precision", str, enum=list(PRECISION_NS), description="line protocol only")],
        responses=_WRITE_RESPONSES,
    )
    def post(self, request: Request) -> HttpResponse:
        return self.ingest(request, precision=_precision(request, "ns"))


class InfluxWriteApi(_WriteApi):
    """InfluxDB v2 `/api/v2/write`: Telegraf and influxdb-client work with `Authorization: Token <key>`.

    `bucket` and `org` are accepted and ignored: the key decides the organization.
    """

    line_protocol_only = True

    @extend_schema(
        summary="Write line protocol (InfluxDB v2 compatible)",
        request={"text/plain": _LINE_PROTOCOL},
        parameters=[
            OpenApiParameter("bucket", str, description="accepted, ignored (the key decides where data goes)"),
            OpenApiParameter("org", str, description="accepted, ignored"),
            OpenApiParameter("precision", str, enum=list(PRECISION_NS), description="timestamp unit; default ns"),
        ],
        responses=_WRITE_RESPONSES,
    )
    def post(self, request: Request) -> HttpResponse:
        return self.ingest(request, precision=_precision(request, "ns"))


def _iso(time_ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=time_ns // 1000)).isoformat().replace("+00:00", "Z")


class HistoryApi(RateLimitedMixin):
    """Aggregated history of one device's fields; at most HISTORY_MAX_POINTS buckets per series."""

    required_scope = METRICS_READ

    @extend_schema(
        summary="Metric history of one device",
        description=(
            "Tag filters: `tag.<name>=<value>` keeps only series whose tag `<name>` has that value, e.g. "
            "`tag.path=/`; repeat one name for any of several values (`tag.path=/&tag.path=/data`), use "
            "several names for all of them. With `group_by`, each series' `tags` holds its group's values "
            f"(at most HISTORY_MAX_GROUPS series per field, else a 400 naming `group_by`; at most "
            f"{history.MAX_TAG_VALUES} tag values). See docs/api.md."
        ),
        parameters=[
            OpenApiParameter("device", {"type": "string", "minLength": 1}, required=True),
            OpenApiParameter("measurement", {"type": "string", "minLength": 1}, description="default 'edge'"),
            OpenApiParameter(
                "field",
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "minItems": 1,
                    "maxItems": MAX_HISTORY_FIELDS,
                },
                required=True,
                explode=True,
                style="form",
                description=f"repeat for several fields (at most {MAX_HISTORY_FIELDS})",
            ),
            OpenApiParameter(
                "start",
                {"type": "string", "minLength": 1},
                description="ISO 8601, epoch seconds, 'now' or '-15m'/'-24h'; default -1h",
            ),
            OpenApiParameter("end", {"type": "string", "minLength": 1}, description="same forms; default now"),
            OpenApiParameter("step", str, description="bucket size like 30s, 5m, 1h; default: automatic"),
            OpenApiParameter("agg", str, enum=["mean", "min", "max", "last", "sum"], description="default mean"),
            OpenApiParameter(
                "group_by",
                {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": history.MAX_GROUP_BY},
                explode=True,
                style="form",
                description=(
                    "split each field into one series per value of this tag (e.g. `path`, `interface`); repeat "
                    f"for up to {history.MAX_GROUP_BY} tags; `device` and `beacon_tenant` are refused"
                ),
            ),
        ],
        responses={
            200: HistorySerializer,
            **error_responses(
                400,
                401,
                403,
                404,
                429,
                503,
                e400="A parameter is invalid (named in `message`).",
                e403="Key lacks `metrics:read`.",
                e404="Device not in the key's organization (or not a device-bound key's device).",
                e503="Time-series store unavailable; see `Retry-After`.",
            ),
            # Answered by gunicorn before Django (limit_request_line, 4094 bytes), with its own HTML body.
            414: OpenApiResponse(description="Request line (URL) over the WSGI server's limit."),
        },
    )
    def get(self, request: Request) -> Response:
        lists = ("field", "group_by")
        params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k not in lists}
        params.update({name: request.query_params.getlist(name) for name in lists if name in request.query_params})
        params.setdefault("field", [])
        query = HistoryQuerySerializer(data=params)
        if not query.is_valid():
            name, messages = next(iter(query.errors.items()))
            message = messages[0] if isinstance(messages, list) else messages
            if isinstance(message, dict):
                message = next(iter(message.values()))[0]
            raise InvalidRequest(f"parameter {name!r}: {message}")
        data = query.validated_data
        tags = history.parse_tags(request.query_params, data["group_by"])
        organization = request_organization(request)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None  # None: a member's session
        now = timezone.now()
        start = timeparams.parse_time("start", data["start"], now)
        end = timeparams.parse_time("end", data["end"], now)
        if start >= end:
            raise InvalidRequest(f"parameter 'start': {data['start']!r} is not before end {data['end']!r}")
        max_points = settings.HISTORY_MAX_POINTS
        if data["step"]:
            step = timeparams.parse_step(data["step"])
            buckets = timeparams.bucket_count(start, end, step)
            if buckets > max_points:
                raise InvalidRequest(
                    f"parameter 'step': {data['step']!r} gives {buckets} points per series; the limit is "
                    f"{max_points} (HISTORY_MAX_POINTS); use a larger step or a shorter range"
                )
        else:
            step = timeparams.auto_step(start, end, max_points)
        device = selectors.device_for_reading(organization=organization, api_key=api_key, name=data["device"])
        series = selectors.metrics_history(
            organization=organization,
            device=device,
            measurement=data["measurement"],
            fields=data["field"],
            start=start,
            end=end,
            step=step,
            agg=data["agg"],
            tags=tags.filters,
            group_by=tags.group_by,
        )
        body = {
            "device": device.name,
            "measurement": data["measurement"],
            "start": start,
            "end": end,
            "step_seconds": step.total_seconds(),
            "agg": data["agg"],
            "series": [
                {"field": s.field, "tags": s.tags, "points": [[_iso(t), v] for t, v in s.points]} for s in series
            ],
        }
        return Response(HistorySerializer(body).data)


class DeviceSeriesApi(RateLimitedMixin):
    """Series discovery: every measurement, tag set and field a device has written, with the newest value
    of each field. What the device page lists, and what to ask /api/v1/history for."""

    required_scope = METRICS_READ

    @extend_schema(
        summary="Measurements and fields of one device, with their newest values",
        responses={
            200: DeviceSeriesListSerializer,
            **error_responses(
                401,
                403,
                404,
                429,
                503,
                e403="Key lacks `metrics:read`.",
                e404="Device not in the caller's organization (or not a device-bound key's device).",
                e503="Time-series store unavailable; see `Retry-After`.",
            ),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        organization = request_organization(request)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        device = selectors.device_for_reading(organization=organization, api_key=api_key, slug=slug)
        found = selectors.device_series(organization=organization, device=device)
        body = {
            "device": device.name,
            "slug": device.slug,
            "series": [
                {
                    "measurement": info.measurement,
                    "tags": info.tags,
                    "fields": [
                        {"name": f.name, "type": f.kind, "time": _iso(f.time_ns), "value": f.value} for f in info.fields
                    ],
                }
                for info in found
            ],
        }
        return Response(DeviceSeriesListSerializer(body).data)
