"""Bandwidth API: services, a service's bandwidth chart in the seed's shape, quotas with forecasts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization
from accounts.tenancy import request_device_id, request_organization
from portal.api import timeparams
from portal.api.errors import Forbidden, InvalidRequest, NotFound
from portal.api.pagination import BAD_PAGE
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import ORG_PARAMETER, error_responses
from quotas import selectors, serializers
from quotas.models import GatewayService, Quota
from quotas.status import forecast, quota_statuses

DIRECTIONS = ("ingress", "egress")
# Registered by ingest (named, not imported: ingest is a sibling app).
METRICS_READ = "metrics:read"


def _organization(request: Request) -> Organization:
    """A key's or a member's organization; a device-bound key reads only its device, not gateway traffic."""
    if request_device_id(request) is not None:
        raise Forbidden("a device-bound key cannot read gateway bandwidth; use an organization-wide key")
    return request_organization(request)


class ServiceListApi(RateLimitedMixin, GenericAPIView[GatewayService]):
    required_scope = METRICS_READ
    ordering = "name"  # unique within an organization: a stable cursor (portal/api/pagination.py)
    serializer_class = serializers.ServiceSerializer

    def get_queryset(self) -> QuerySet[GatewayService]:
        return selectors.service_list(organization=_organization(self.request))

    @extend_schema(
        summary="Gateway services of the organization, with this calendar month's bytes",
        parameters=[ORG_PARAMETER],
        responses={
            200: serializers.ServiceSerializer(many=True),
            **error_responses(400, 401, 403, 429, e400=BAD_PAGE),
        },
    )
    def get(self, request: Request) -> Response:
        services = self.paginate_queryset(self.get_queryset()) or []
        usage = selectors.month_usage(services=services, now=timezone.now())
        rows = [
            {
                "name": s.name,
                "kong_service": s.kong_service,
                "route": s.route,
                "month_ingress_bytes": usage[s.id].ingress_bytes if s.id in usage else 0,
                "month_egress_bytes": usage[s.id].egress_bytes if s.id in usage else 0,
            }
            for s in services
        ]
        return self.get_paginated_response(serializers.ServiceSerializer(rows, many=True).data)


def _times(request: Request) -> tuple[datetime, datetime, timedelta]:
    params = request.query_params
    now = timezone.now()
    start = timeparams.parse_time("start", params.get("start") or "-1h", now)
    end = timeparams.parse_time("end", params.get("end") or "now", now)
    if start >= end:
        raise InvalidRequest(f"parameter 'start': {params.get('start')!r} is not before end")
    max_points = settings.HISTORY_MAX_POINTS
    if params.get("step"):
        step = timeparams.parse_step(params["step"])
        buckets = timeparams.bucket_count(start, end, step)
        if buckets > max_points:
            raise InvalidRequest(
                f"parameter 'step': {params['step']!r} gives {buckets} buckets; the limit is {max_points} "
                "(HISTORY_MAX_POINTS); use a larger step or a shorter range"
            )
    else:
        step = max(timeparams.auto_step(start, end, max_points), timedelta(seconds=60))
    return start, end, step


def _bucket_starts(start: datetime, end: datetime, step: timedelta) -> list[int]:
    step_ns = int(step.total_seconds() * 1_000_000_000)
    first = math.floor(start.timestamp() * 1_000_000_000 / step_ns) * step_ns
    last = math.ceil(end.timestamp() * 1_000_000_000 / step_ns) * step_ns
    return list(range(first, last, step_ns))


def _iso(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).isoformat()


class BandwidthApi(RateLimitedMixin):
    required_scope = METRICS_READ

    @extend_schema(
        summary="Bandwidth of one service per bucket (the seed's list shape; null for empty buckets)",
        parameters=[
            OpenApiParameter("start", str, description="ISO 8601, epoch seconds, 'now' or '-15m'/'-24h'; default -1h"),
            OpenApiParameter("end", str, description="same forms; default now"),
            OpenApiParameter("step", str, description="bucket size like 1m, 5m, 1h; default: automatic (at least 1m)"),
            OpenApiParameter("direction", str, enum=list(DIRECTIONS), description="default: both"),
        ],
        responses={
            200: serializers.BandwidthPointSerializer(many=True),
            **error_responses(400, 401, 403, 404, 429, 503, e404="No service of that name in the organization."),
        },
    )
    def get(self, request: Request, name: str) -> Response:
        organization = _organization(request)
        direction = request.query_params.get("direction") or None
        if direction is not None and direction not in DIRECTIONS:
            raise InvalidRequest(f"parameter 'direction': {direction!r} is not one of ingress, egress")
        start, end, step = _times(request)
        service = selectors.service_get(organization=organization, name=name)
        if service is None:
            raise NotFound(f"no service {name!r} in this organization")
        series = selectors.bandwidth_series(service=service, start=start, end=end, step=step, direction=direction)
        if not series:  # no traffic at all: the expected series, every bucket null
            series = {(d, service.route): {} for d in ([direction] if direction else DIRECTIONS)}
        buckets = _bucket_starts(start, end, step)
        rows = [
            {"time": _iso(t), "type": d, "service": service.name, "route": route, "bandwidth_used": values.get(t)}
            for (d, route), values in sorted(series.items())
            for t in buckets
        ]
        return Response(rows)


def _forecast_body(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "rate_bytes_per_second": round(value.rate_bytes_per_second, 3),
        "reaches_limit_at": value.reaches_limit_at,
        "within_period": value.within_period,
    }


class QuotaListApi(RateLimitedMixin, GenericAPIView[Quota]):
    required_scope = METRICS_READ
    ordering = "pk"  # creation order; the key keeps the cursor stable (portal/api/pagination.py)
    serializer_class = serializers.QuotaSerializer

    def get_queryset(self) -> QuerySet[Quota]:
        return selectors.quota_list(organization=_organization(self.request))

    @extend_schema(
        summary="Quotas with the current period's usage, thresholds notified and the 24 h forecast",
        parameters=[ORG_PARAMETER],
        responses={
            200: serializers.QuotaSerializer(many=True),
            **error_responses(400, 401, 403, 429, e400=BAD_PAGE),
        },
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        rows = []
        for status in quota_statuses(self.paginate_queryset(self.get_queryset()) or [], now=now):
            quota = status.quota
            rows.append(
                {
                    "id": quota.id,
                    "service": quota.service.name,
                    "period": quota.period,
                    "direction": quota.direction,
                    "period_start": status.period_start,
                    "period_end": status.period_end,
                    "used_bytes": status.used_bytes,
                    "limit_bytes": quota.limit_bytes,
                    "usage_percent": round(status.usage_percent, 2),
                    "thresholds": quota.thresholds,
                    "notified_thresholds": status.notified_thresholds,
                    "forecast": _forecast_body(forecast(status, now=now)),
                }
            )
        return self.get_paginated_response(serializers.QuotaSerializer(rows, many=True).data)
