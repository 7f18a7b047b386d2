"""Gauge API (the MetricNexus table under /api/v1/gauges/), pushed-group list and the org-scoped wipe."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import ApiKeyAuthentication
from accounts.models import ApiKey
from accounts.tenancy import request_organization
from portal.api.body import BodyLimits, read_body
from portal.api.errors import InvalidRequest, NotFound
from portal.api.negotiation import FirstRendererNegotiation
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses
from registry import pushes, selectors, serializers, services
from registry.renderers import TextFriendlyNegotiation
from registry.scopes import GAUGES_READ, GAUGES_WRITE

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
# `org` names the organization for member sessions (accounts.tenancy); it cannot be a gauge label.
_NOT_LABELS = frozenset({"org"})
_LABELS_PARAMETER = OpenApiParameter(
    "labels",
    OpenApiTypes.OBJECT,
    style="form",
    explode=True,
    description="The gauge's labels as query parameters (`?host=a&region=eu`); none for a gauge without labels.",
)


def _body_limits() -> BodyLimits:
    size = services.GAUGE_BODY_MAX_BYTES
    return BodyLimits(size, size)


def _text(request: Request) -> str:
    raw = read_body(request._request, _body_limits())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"body is not UTF-8 (byte {exc.start})") from None


def query_labels(request: Request) -> dict[str, str]:
    labels: dict[str, str] = {}
    for name, values in request.query_params.lists():
        if name in _NOT_LABELS:
            continue
        if len(values) > 1:
            raise InvalidRequest(f"label {name[:80]!r} is given {len(values)} times; a label has one value")
        labels[name] = values[0]
    return labels


def parse_value(text: str) -> float:
    """A number as text (`3.5`), as JSON (`3.5`), or `{"value": 3.5}`; NaN and infinities are refused."""
    stripped = text.strip()
    if not stripped:
        raise InvalidRequest("body: empty; send a number such as 3.5")
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise InvalidRequest(f"body: invalid JSON ({exc})") from None
        value = data.get("value") if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidRequest('body: expected {"value": <number>}')
        return float(value)
    if not _NUMBER.match(stripped):
        raise InvalidRequest(f"body: {stripped[:40]!r} is not a number (send e.g. 3.5; NaN and Inf are refused)")
    value = float(stripped)
    if value in (float("inf"), float("-inf")):
        raise InvalidRequest(f"body: {stripped[:40]!r} is out of range")
    return value


def _key(request: Request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


def _creation(request: Request) -> dict[str, Any]:
    text = _text(request)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return {"description": text}
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise InvalidRequest(f"body: invalid JSON ({exc})") from None
    if isinstance(data, str):
        return {"description": data}
    serializer = serializers.GaugeCreateSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


_VALUE_BODY = {"text/plain": {"type": "string", "pattern": r"^\s*[+-]?[0-9]+(\.[0-9]*)?\s*$"}}
_WRITE_ERRORS = error_responses(400, 401, 403, 404, 413, 429, 503, e404="No such gauge in the key's organization.")


class GaugeListApi(RateLimitedMixin, generics.ListAPIView):  # type: ignore[type-arg]
    required_scope = GAUGES_READ
    serializer_class = serializers.GaugeSerializer
    ordering = "identity"  # name, then labels; unique in the organization (cursor pagination)

    @extend_schema(
        summary="Gauges of the organization, by name then labels",
        parameters=[
            OpenApiParameter("name", str, description="only names containing this (case-insensitive)"),
            OpenApiParameter("kind", str, enum=["gauge", "counter"]),
        ],
        responses={200: serializers.GaugeSerializer(many=True), **error_responses(400, 401, 403, 429)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        if "kind" in params and params["kind"] not in ("gauge", "counter"):
            raise InvalidRequest(f"parameter 'kind': {params['kind'][:40]!r} is not 'gauge' or 'counter'")
        return selectors.gauge_list(
            organization=request_organization(self.request), name=params.get("name", ""), kind=params.get("kind", "")
        )


class GaugeApi(RateLimitedMixin):
    """POST creates (body = description), GET reads, PUT sets (body = value), DELETE removes."""

    parser_classes: list[Any] = []
    content_negotiation_class = TextFriendlyNegotiation

    def get_authenticators(self) -> list[Any]:
        if self.request is not None and self.request.method != "GET":  # writes are key-only
            return [ApiKeyAuthentication()]
        return super().get_authenticators()

    @property
    def required_scope(self) -> str:  # type: ignore[override]
        return GAUGES_READ if self.request.method == "GET" else GAUGES_WRITE

    @extend_schema(
        summary="A gauge's value: a plain number, or an object with Accept: application/json",
        parameters=[_LABELS_PARAMETER],
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            (200, "application/json"): serializers.GaugeSerializer,
            **error_responses(400, 401, 403, 404, 429, 503, e404="No such gauge in the organization."),
        },
    )
    def get(self, request: Request, gauge: str) -> Any:
        organization = request_organization(request)
        labels = query_labels(request)
        services.check_gauge_identity(gauge, labels)
        found = selectors.gauge_get(organization=organization, name=gauge, labels=labels)
        if found is None:
            raise NotFound(f"no gauge {services.describe(gauge, labels)} in this organization")
        if "application/json" in request.META.get("HTTP_ACCEPT", ""):
            return Response(serializers.GaugeSerializer(found).data)
        return HttpResponse(repr(found.value), content_type="text/plain; charset=utf-8")

    @extend_schema(
        summary="Create a gauge (body: its description as text, or JSON with labels, kind, ttl_seconds)",
        parameters=[_LABELS_PARAMETER],
        request={"text/plain": OpenApiTypes.STR, "application/json": serializers.GaugeCreateSerializer},
        responses={
            201: serializers.GaugeSerializer,
            200: OpenApiResponse(serializers.GaugeSerializer, description="It exists with this description."),
            409: OpenApiResponse(
                serializers.ErrorSerializer,
                description="It exists with another description or kind, or the name is another type.",
            ),
            **error_responses(400, 401, 403, 413, 429, 503),
        },
    )
    def post(self, request: Request, gauge: str) -> Response:
        organization = request_organization(request)
        fields = _creation(request)
        labels = query_labels(request)
        body_labels = fields.pop("labels", None) or {}
        for name, value in body_labels.items():
            if labels.get(name, value) != value:
                raise InvalidRequest(f"label {name!r} is {labels[name]!r} in the URL and {value!r} in the body")
        result = services.gauge_create(
            organization=organization, name=gauge, labels={**labels, **body_labels}, api_key=_key(request), **fields
        )
        return Response(
            serializers.GaugeSerializer(result.gauge).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="Set a gauge's value (body: a number)",
        parameters=[_LABELS_PARAMETER],
        request=_VALUE_BODY,
        responses={204: None, **_WRITE_ERRORS},
    )
    def put(self, request: Request, gauge: str) -> Response:
        organization = request_organization(request)
        value = parse_value(_text(request))
        labels = query_labels(request)
        services.check_gauge_identity(gauge, labels)
        services.gauge_set(organization=organization, name=gauge, labels=labels, value=value, api_key=_key(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Delete a gauge", parameters=[_LABELS_PARAMETER], responses={204: None, **_WRITE_ERRORS})
    def delete(self, request: Request, gauge: str) -> Response:
        organization = request_organization(request)
        labels = query_labels(request)
        services.check_gauge_identity(gauge, labels)
        services.gauge_delete(organization=organization, name=gauge, labels=labels)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _GaugeOpApi(RateLimitedMixin):
    required_scope = GAUGES_WRITE
    authentication_classes = [ApiKeyAuthentication]
    parser_classes: list[Any] = []
    content_negotiation_class = FirstRendererNegotiation  # a 204 or a JSON error, whatever is accepted
    sign = 1.0
    fixed: float | None = None  # inc/dec: no body

    def put(self, request: Request, gauge: str) -> HttpResponse:
        organization = request_organization(request)
        amount = self.fixed if self.fixed is not None else parse_value(_text(request))
        labels = query_labels(request)
        services.check_gauge_identity(gauge, labels)
        services.gauge_add(
            organization=organization, name=gauge, labels=labels, delta=self.sign * amount, api_key=_key(request)
        )
        return HttpResponse(status=204)  # no body: skips DRF's negotiation and rendering of an empty Response


def _op(name: str, summary: str, sign: float, fixed: float | None) -> type[_GaugeOpApi]:
    body = None if fixed is not None else _VALUE_BODY
    put = extend_schema(
        summary=summary, parameters=[_LABELS_PARAMETER], request=body, responses={204: None, **_WRITE_ERRORS}
    )(_GaugeOpApi.put)
    return type(name, (_GaugeOpApi,), {"sign": sign, "fixed": fixed, "put": put})


GaugeIncApi = _op("GaugeIncApi", "Add 1 (atomic)", 1.0, 1.0)
GaugeDecApi = _op("GaugeDecApi", "Subtract 1 (atomic; a counter refuses)", -1.0, 1.0)
GaugeAddApi = _op("GaugeAddApi", "Add the body's number (atomic)", 1.0, None)
GaugeSubApi = _op("GaugeSubApi", "Subtract the body's number (atomic; a counter refuses)", -1.0, None)


class GroupListApi(RateLimitedMixin, generics.ListAPIView):  # type: ignore[type-arg]
    required_scope = GAUGES_READ
    serializer_class = serializers.PushGroupSerializer
    ordering = "grouping_key"  # unique in the organization

    @extend_schema(
        summary="Pushed groups (Pushgateway-compatible pushes) with push times and expiry",
        parameters=[OpenApiParameter("job", str, description="only this job")],
        responses={200: serializers.PushGroupSerializer(many=True), **error_responses(400, 401, 403, 429)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return selectors.group_list(
            organization=request_organization(self.request), job=self.request.query_params.get("job", "")
        )


class WipeApi(RateLimitedMixin):
    required_scope = GAUGES_WRITE
    authentication_classes = [ApiKeyAuthentication]
    parser_classes: list[Any] = []

    @extend_schema(
        summary="Delete every pushed group of the organization (Pushgateway's wipe, org-scoped)",
        request=None,
        responses={202: serializers.WipeSerializer, **error_responses(401, 403, 429, 503)},
    )
    def put(self, request: Request) -> Response:
        deleted = pushes.groups_wipe(organization=request_organization(request))
        return Response({"deleted_groups": deleted}, status=status.HTTP_202_ACCEPTED)
