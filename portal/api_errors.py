"""Every API error body has the same shape: {"code": ..., "message": ..., [detail]}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response

from portal import outages

ERROR_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "unauthorized",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "request_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "too_many_requests",
    status.HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


def _client_error(exc: Exception) -> Exception:
    """Django's SuspiciousOperation (e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS query parameters, raised
    when a view first reads request.GET) would otherwise become Django's HTML 400 page: answer in our shape."""
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ParseError(
            f"too many query or form parameters; the limit is {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}"
        )
    if isinstance(exc, RequestDataTooBig):
        return exceptions.ParseError(f"request body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(f"request refused: {exc}")
    return exc


class ServiceUnavailable(exceptions.APIException):
    """A dependency (database, cache) is down: retryable, nothing was written (503 + Retry-After)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        retry_after = retry_after or settings.OUTAGE_RETRY_AFTER_SECONDS
        self.wait = retry_after  # DRF turns `wait` into the Retry-After header
        self.body_extra = {"retry_after": retry_after}


def dependency_error(exc: Exception) -> Exception:
    """Connection-level database errors (refused, dropped, timed out, statement cancelled) from any step of
    an API request, authentication included, are a 503 the client retries; never Django's HTML 500."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        outages.database.down(exc)
        return ServiceUnavailable("The database is unavailable; nothing was written, retry later.")
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: authentication classes import this module while rest_framework.views is being imported.
    from rest_framework.views import exception_handler as drf_exception_handler

    exc = dependency_error(_client_error(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    body: dict[str, Any] = {"code": ERROR_CODES.get(response.status_code, "error")}
    if isinstance(exc, exceptions.ValidationError):
        body["message"] = "Invalid request; see 'detail' for each field."
        body["detail"] = data
    elif isinstance(data, dict) and "detail" in data:
        body["message"] = str(data["detail"])
    else:
        body["message"] = str(data)
    # Exceptions may add fields callers act on, e.g. "line" (ingest) or "retry_after" (429/503).
    extra = getattr(exc, "body_extra", None)
    if extra:
        body.update(extra)
    response.data = body
    return response
