"""OpenAPI pieces shared by every API view: the error body and the error answers each operation documents.

Schemathesis (scripts/fuzz_api.py, tests/ingest/test_fuzz_regressions.py) checks every answer against
these, so a status code or body shape missing here is a failing test, not just a stale doc.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from portal.api.errors import ERROR_CODES


class ErrorSerializer(serializers.Serializer[dict]):
    """`{"code": ..., "message": ...}` plus the fields that say where (portal.api.errors)."""

    code = serializers.ChoiceField(choices=sorted({*ERROR_CODES.values(), "error"}))
    message = serializers.CharField()
    line = serializers.IntegerField(required=False, help_text="1-based line of a line-protocol or JSON body")
    index = serializers.IntegerField(required=False, help_text="0-based item of a JSON list body")
    retry_after = serializers.IntegerField(required=False, help_text="seconds; with 429 and 503")
    detail = serializers.JSONField(required=False, help_text="DRF field errors")


_DEFAULTS = {
    400: "Invalid body or parameter (named in `message`); nothing written.",
    401: "Missing, unknown, expired or revoked API key.",
    403: "The key lacks the scope this operation needs.",
    404: "Not found in the key's organization.",
    413: "Body, inflated body or point count over the limit; nothing written.",
    415: "Content-Type or Content-Encoding not supported; nothing written.",
    429: "Rate limited; see `Retry-After` and `retry_after`.",
    503: "A dependency (database, time-series store, rate-limit cache) is unavailable; nothing written; "
    "see `Retry-After`.",
}


# The filter every read endpoint takes with a member's browser session (accounts.tenancy); a key ignores it.
ORG_PARAMETER = OpenApiParameter(
    "org",
    str,
    description="With a browser session: the organization's slug (needed when the user is a member of several). "
    "Ignored with an API key: the key's organization is used.",
)


def error_responses(*statuses: int, **descriptions: str) -> dict[int, Any]:
    """`{status: OpenApiResponse(ErrorSerializer)}`; `descriptions` override by name, e.g. `e403="..."`."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=descriptions.get(f"e{code}", _DEFAULTS[code]))
        for code in statuses
    }


def postprocess_constraints(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Constraints drf-spectacular does not derive from serializers: non-empty write lists and metrics."""
    schemas = result.get("components", {}).get("schemas", {})
    metrics = schemas.get("MetricItem", {}).get("properties", {}).get("metrics")
    if metrics is not None:
        metrics["minProperties"] = 1  # MetricItemSerializer.metrics has allow_empty=False
    write = schemas.get("MetricWrite")
    if write:
        for variant in write.get("oneOf", []):
            if variant.get("type") == "array":
                variant["minItems"] = 1
    return result
