"""Pushgateway-compatible push (`/metrics/job/<job>{/<label>/<value>}`) and the Prometheus exposition
(`/metrics`), with a key: prometheus_client's push_to_gateway / pushadd_to_gateway / delete_from_gateway
work unchanged given a handler that adds the header (docs/registry.md)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from accounts.models import ApiKey
from accounts.tenancy import request_organization
from portal.api.body import BodyLimits, read_body
from portal.api.errors import InvalidRequest, UnsupportedMedia
from portal.api.negotiation import FirstRendererNegotiation
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses
from registry import pushes, selectors
from registry.authentication import KEY_OR_BASIC
from registry.grouping import grouping_labels
from registry.renderers import TextFriendlyNegotiation
from registry.scopes import GAUGES_WRITE, SCRAPE
from registry.services import limits

_TTL = re.compile(r"([0-9]{1,9})(s|m|h|d)?\Z")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _ttl(request: Request) -> int | None:
    raw = request.query_params.get("ttl")
    if raw is None or raw == "":
        return None
    found = _TTL.match(raw.strip())
    if not found:
        raise InvalidRequest(f"parameter 'ttl': {raw[:40]!r} is not a duration like 300, 90s, 15m, 2h or 7d")
    seconds = int(found.group(1)) * _UNIT[found.group(2)]
    if not 1 <= seconds <= 10 * 365 * 86400:
        raise InvalidRequest(f"parameter 'ttl': {raw[:40]!r} is not between 1 s and 10 years")
    return seconds


def _push_body(request: Request) -> str:
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    if "protobuf" in content_type:
        raise UnsupportedMedia(
            "protobuf pushes are not supported; send the text format (Content-Type: text/plain; version=0.0.4), "
            "as prometheus_client's push_to_gateway does"
        )
    size = settings.REGISTRY_PUSH_MAX_BYTES
    raw = read_body(request._request, BodyLimits(size, size, "REGISTRY_PUSH_MAX_BYTES", "REGISTRY_PUSH_MAX_BYTES"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"body is not UTF-8 (byte {exc.start})") from None


_PATH = [
    OpenApiParameter(
        "labels",
        str,
        OpenApiParameter.PATH,
        description="further grouping labels: name/value pairs, "
        "`name@base64/<URL-safe base64>` for values with '/' or empty ones",
    ),
]
_BODY = {"text/plain": {"type": "string", "description": "Prometheus text format 0.0.4, no timestamps"}}
_PUSH_ERRORS = error_responses(
    400,
    401,
    403,
    413,
    415,
    429,
    503,
    e400="Unparsable body, bad grouping key, timestamps, or a metric name of another type; nothing stored "
    "(push_failure_time_seconds is set for the last two).",
    e415="Protobuf bodies are not supported; send the text format.",
)


_STORED = {200: OpenApiResponse(description="Stored."), **_PUSH_ERRORS}
_SCHEMAS: dict[str, dict[str, Any]] = {
    "put": {"summary": "Push a group, replacing it (Pushgateway PUT)", "request": _BODY, "responses": _STORED},
    "post": {
        "summary": "Push a group, replacing only the metric names sent (Pushgateway POST)",
        "request": _BODY,
        "responses": _STORED,
    },
    "delete": {
        "summary": "Delete a group (202 whether or not it existed, as Pushgateway)",
        "responses": {202: OpenApiResponse(description="Gone."), **error_responses(400, 401, 403, 429, 503)},
    },
}


class PushApi(RateLimitedMixin):
    """PUT replaces the group, POST replaces the names it carries, DELETE removes the group (202)."""

    required_scope = GAUGES_WRITE
    authentication_classes = KEY_OR_BASIC
    parser_classes: list[Any] = []
    content_negotiation_class = FirstRendererNegotiation  # an empty 200/202 or a JSON error, whatever is accepted
    job_base64 = False

    def _grouping(self, job: str, labels: str) -> dict[str, str]:
        return grouping_labels(job, labels, job_base64=self.job_base64, limits=limits())

    def _push(self, request: Request, job: str, labels: str, *, replace: bool) -> HttpResponse:
        organization = request_organization(request)
        grouping = self._grouping(job, labels)
        ttl = _ttl(request)
        body = _push_body(request)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        pushes.group_push(
            organization=organization, grouping=grouping, body=body, replace=replace, ttl_seconds=ttl, api_key=api_key
        )
        return HttpResponse(status=200)  # as a Pushgateway with its consistency check answers

    def put(self, request: Request, labels: str = "", **kwargs: str) -> HttpResponse:
        return self._push(request, self._job(kwargs), labels, replace=True)

    def post(self, request: Request, labels: str = "", **kwargs: str) -> HttpResponse:
        return self._push(request, self._job(kwargs), labels, replace=False)

    def delete(self, request: Request, labels: str = "", **kwargs: str) -> HttpResponse:
        organization = request_organization(request)
        pushes.group_delete(organization=organization, grouping=self._grouping(self._job(kwargs), labels))
        return HttpResponse(status=202)

    def _job(self, kwargs: dict[str, str]) -> str:
        return kwargs["job_base64" if self.job_base64 else "job"]


def _variant(name: str, base: type[PushApi], *, labels: bool, job_base64: bool) -> type[PushApi]:
    """A route's own view class: its own operation ids, and the `labels` parameter only where the path has it
    (decorating the inherited methods would change the base class's schema too)."""
    prefix = name.removesuffix("Api").lower()

    def put(self: PushApi, request: Request, **kwargs: str) -> HttpResponse:
        return base.put(self, request, **kwargs)

    def post(self: PushApi, request: Request, **kwargs: str) -> HttpResponse:
        return base.post(self, request, **kwargs)

    def delete(self: PushApi, request: Request, **kwargs: str) -> HttpResponse:
        return base.delete(self, request, **kwargs)

    extra: dict[str, Any] = {"parameters": _PATH} if labels else {}
    methods = {
        m.__name__: extend_schema(operation_id=f"{prefix}_{m.__name__}", **_SCHEMAS[m.__name__], **extra)(m)
        for m in (put, post, delete)
    }
    return type(name, (base,), {"job_base64": job_base64, **methods})


PushJobApi = _variant("PushJobApi", PushApi, labels=False, job_base64=False)
PushLabelsApi = _variant("PushLabelsApi", PushApi, labels=True, job_base64=False)
PushBase64Api = _variant("PushBase64Api", PushApi, labels=False, job_base64=True)
PushBase64LabelsApi = _variant("PushBase64LabelsApi", PushApi, labels=True, job_base64=True)


class ExpositionApi(RateLimitedMixin):
    required_scope = SCRAPE
    authentication_classes = KEY_OR_BASIC
    content_negotiation_class = TextFriendlyNegotiation

    @extend_schema(
        summary="The organization's gauges and pushed groups for Prometheus (text format 0.0.4)",
        responses={(200, "text/plain"): OpenApiTypes.STR, **error_responses(401, 403, 429, 503)},
    )
    def get(self, request: Request) -> HttpResponse:
        text = selectors.exposition(organization=request_organization(request))
        return HttpResponse(text.encode(), content_type=EXPOSITION_TYPE)
