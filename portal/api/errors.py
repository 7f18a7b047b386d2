"""Every API error body has the same shape: {"code": ..., "message": ..., [line|index|retry_after|detail]}.

Apps raise `ApiError` subclasses (domain errors that already know their status and where they happened);
`exception_handler` is the one place that turns them, DRF's exceptions and Django's client errors into
that body.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response

from portal.logging import database_outage, store_outage

ERROR_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "unauthorized",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "request_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "too_many_requests",
    status.HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


class ApiError(Exception):
    """A refused request, independent of HTTP until `exception_handler` answers it.

    `line` (1-based line of a text body) and `index` (0-based item of a JSON list) say where; `point` is the
    0-based point of a parsed batch, set by code that only sees points (the batch turns it into a line or
    an item, see ingest.payloads.Batch.locate); it never reaches the client.
    """

    status: int = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        index: int | None = None,
        point: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.index = index
        self.point = point
        self.retry_after = retry_after

    @property
    def code(self) -> str:
        return ERROR_CODES.get(self.status, "error")

    def __str__(self) -> str:
        return self.message


class InvalidRequest(ApiError):
    status: int = status.HTTP_400_BAD_REQUEST


class Forbidden(ApiError):
    status = status.HTTP_403_FORBIDDEN


class NotFound(ApiError):
    status = status.HTTP_404_NOT_FOUND


class Conflict(ApiError):
    """The request contradicts what is stored (a name that exists with another meaning, a run committed
    twice); nothing changed."""

    status = status.HTTP_409_CONFLICT


class TooLarge(ApiError):
    status = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class UnsupportedMedia(ApiError):
    status = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE


class RateLimited(ApiError):
    status = status.HTTP_429_TOO_MANY_REQUESTS


class Unavailable(ApiError):
    """A dependency is down; retrying after `retry_after` seconds may succeed."""

    status = status.HTTP_503_SERVICE_UNAVAILABLE


class _Answered(exceptions.APIException):
    """An ApiError as DRF's handler expects it (status, Retry-After through `wait`)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.status_code = error.status
        self.wait = error.retry_after
        extra: dict[str, Any] = {}
        if error.line is not None:
            extra["line"] = error.line
        if error.index is not None:
            extra["index"] = error.index
        if error.retry_after is not None:
            extra["retry_after"] = error.retry_after
        self.body_extra = extra


def _client_error(exc: Exception) -> Exception:
    """Django's SuspiciousOperation (e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS query parameters, raised
    when a view first reads request.GET) would otherwise become Django's HTML 400 page: answer in our shape."""
    if isinstance(exc, ApiError):
        return _Answered(exc)
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ParseError(
            f"too many query or form parameters; the limit is {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}"
        )
    if isinstance(exc, RequestDataTooBig):
        return exceptions.ParseError(f"request body over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(f"request refused: {exc}")
    return exc


def dependency_error(exc: Exception) -> Exception:
    """Connection-level database errors (refused, dropped, timed out, statement cancelled) from any step of
    an API request, authentication included, are a 503 the client retries; never Django's HTML 500.

    Returned as a DRF APIException, so an authentication class can raise it and DRF marks the request
    unauthenticated instead of retrying the lookup on the next `request.user` access.
    """
    if getattr(exc, "outage", None) == store_outage.dependency:  # timeseries.StoreUnavailable, not caught by a view
        store_outage.down(exc)
        return _Answered(
            Unavailable(
                "The time-series store is unavailable; retry later.", retry_after=settings.OUTAGE_RETRY_AFTER_SECONDS
            )
        )
    if isinstance(exc, (OperationalError, InterfaceError)):
        database_outage.down(exc)
        return _Answered(
            Unavailable(
                "The database is unavailable; nothing was written, retry later.",
                retry_after=settings.OUTAGE_RETRY_AFTER_SECONDS,
            )
        )
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views reads the authentication classes at import, and those (apps'
    # modules) raise the errors defined above.
    from rest_framework.views import exception_handler as drf_exception_handler

    exc = _client_error(dependency_error(exc))
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
    extra = getattr(exc, "body_extra", None)
    if extra:
        body.update(extra)
    response.data = body
    return response


def not_found(request: Any, exception: Exception | None = None) -> Any:
    """settings' handler404: a path no URL pattern matches (e.g. a run id that is not a UUID) is answered in the
    API's own shape under /api/ and /apiv0.1/; pages keep Django's HTML page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith(("/api/", "/apiv0.1/")):
        return JsonResponse(
            {"code": "not_found", "message": f"no API route matches {request.path[:200]!r}"}, status=404
        )
    return page_not_found(request, exception or Exception())
