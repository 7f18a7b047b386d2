"""Why a write or read was refused, independent of HTTP; ingest.apis maps these to responses."""

from __future__ import annotations


class IngestError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, line: int | None = None, index: int | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line  # 1-based line of a line-protocol body
        self.index = index  # 0-based item of a JSON list body
        self.retry_after = retry_after


class IngestInvalid(IngestError):
    pass


class IngestForbidden(IngestError):
    status = 403
    code = "forbidden"


class IngestTooLarge(IngestError):
    status = 413
    code = "request_too_large"


class IngestUnsupportedMedia(IngestError):
    status = 415
    code = "unsupported_media_type"


class IngestUnavailable(IngestError):
    status = 503
    code = "unavailable"


class NotFound(IngestError):
    status = 404
    code = "not_found"
