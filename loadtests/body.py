"""JSON bodies of load-test writes: size-capped (portal.api.body), strict JSON (no NaN), objects only."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.request import Request

from portal.api.body import BodyLimits, read_body
from portal.api.errors import InvalidRequest, UnsupportedMedia


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body(request: Request, *, allow_list: bool = False) -> Any:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMedia(
            f"Content-Type {content_type[:60] or '(none)'!r} is not supported; send application/json"
        )
    limit = settings.LOADTEST_MAX_BODY_BYTES
    raw = read_body(
        request._request,
        BodyLimits(limit, limit * 4, "LOADTEST_MAX_BODY_BYTES", "LOADTEST_MAX_BODY_BYTES (x4 inflated)"),
    )
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise InvalidRequest("body is not UTF-8 JSON; nothing was stored") from None
    except ValueError as exc:
        raise InvalidRequest(f"body is not valid JSON: {str(exc)[:200]}; nothing was stored") from None
    if isinstance(data, dict) or (allow_list and isinstance(data, list)):
        return data
    raise InvalidRequest("body must be a JSON object; nothing was stored")


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """The serializer's data, or a 400 with DRF's field errors (portal.api.errors turns it into `detail`)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
