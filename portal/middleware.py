"""Request id propagation, one access-log line per API request, and the browser-only middleware.

`BrowserMiddleware` runs sessions, CSRF, authentication and messages for every request except an API
call carrying an API key: such a call never reads a session, a cookie or a message, and those four cost
about a sixth of a small push (docs/benchmarks.md, "Small pushes").
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core import checks
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from accounts.authentication import extract_key
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


# In this order, as Django's own MIDDLEWARE list would have them. They define no process_exception or
# process_template_response hook (checked at startup), so forwarding process_view is all Django needs.
BROWSER_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


def is_key_api_request(request: HttpRequest) -> bool:
    """An /api/ call that names an API key (the header ApiKeyAuthentication reads). Its answer is the key's:
    DRF tries the key first and a bad one is a 401, so the session would never be consulted."""
    return request.path_info.startswith("/api/") and extract_key(request) is not None  # type: ignore[arg-type]


class BrowserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        handler = get_response
        self.view_hooks: list[Callable[..., HttpResponse | None]] = []
        for path in reversed(BROWSER_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_exception") or hasattr(middleware, "process_template_response"):
                raise TypeError(f"{path} has hooks BrowserMiddleware does not forward; list it in MIDDLEWARE")
            if hasattr(middleware, "process_view"):
                self.view_hooks.insert(0, middleware.process_view)
            handler = middleware
        self.browser = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_key_api_request(request):
            request._beacon_key_call = True  # type: ignore[attr-defined]  # for process_view below
            return self.get_response(request)
        return self.browser(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], args: tuple, kwargs: dict
    ) -> HttpResponse | None:
        if getattr(request, "_beacon_key_call", False):
            return None
        for hook in self.view_hooks:
            answer = hook(request, view, args, kwargs)
            if answer is not None:
                return answer
        return None


def browser_middleware_check(**kwargs: object) -> list[checks.CheckMessage]:
    """What admin.E408-E410 and security.W003 check (silenced in settings: they look for the four classes in
    MIDDLEWARE itself): that sessions, CSRF, auth and messages run, here through BrowserMiddleware."""
    if "portal.middleware.BrowserMiddleware" in settings.MIDDLEWARE:
        return []
    return [
        checks.Error(
            "portal.middleware.BrowserMiddleware is not in MIDDLEWARE: no sessions, CSRF protection, "
            "authentication or messages for pages and the admin",
            hint=f"Add it after CommonMiddleware; it runs {', '.join(BROWSER_MIDDLEWARE)}.",
            id="portal.E001",
        )
    ]
