"""Request id propagation and one access-log line per API request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.logging import key_id_var, org_var, request_id_var

access_log = logging.getLogger("beacon.access")

# Accept a caller's id only if it is short and printable, so it cannot inject
# fake log lines or bloat every record.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        tokens = (request_id_var.set(request_id), org_var.set(None), key_id_var.set(None))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if request.path.startswith("/api/"):
                access_log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        "remote_addr": request.META.get("REMOTE_ADDR"),
                    },
                )
            return response
        finally:
            request_id_var.reset(tokens[0])
            org_var.reset(tokens[1])
            key_id_var.reset(tokens[2])
