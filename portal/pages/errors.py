"""Error pages of the customer pages: a styled 404 (also with DEBUG=1, where Django would list every URL
pattern to a customer of the demo) and a 503 naming the cause when the database does not answer.

Only page paths: the API answers its own errors as JSON (portal/api/errors.py), and the admin keeps
Django's handling. The 503 is rendered without the request's context: the context processors would ask
the database (the session, the person's organizations) that just failed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from portal.logging import database_outage

NOT_PAGES = ("/api/", "/admin/", "/health", "/static/")


class PageErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(NOT_PAGES):
            return None
        if isinstance(exception, Http404):
            return render(request, "404.html", {"reason": str(exception)}, status=404)
        if isinstance(exception, (OperationalError, InterfaceError)):
            database_outage.down(exception)
            retry = settings.OUTAGE_RETRY_AFTER_SECONDS
            body = render_to_string("503.html", {"retry_after": retry})
            response = HttpResponse(body, status=503)
            response["Retry-After"] = str(retry)
            return response
        return None
