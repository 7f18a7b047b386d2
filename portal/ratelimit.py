"""Request budgets with django-ratelimit: per API key, and per client IP before authentication.

Counts live in the default cache, so every worker and host behind the same Redis
shares them. A failed authentication spends the IP's budget, which slows key guessing.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.views import APIView

from devices.models import ApiKey
from portal import outages
from portal.api_errors import ServiceUnavailable

KEY_GROUP = "beacon.api-key"
IP_GROUP = "beacon.anonymous-ip"


class RateLimited(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.wait = retry_after  # DRF turns `wait` into the Retry-After header
        self.body_extra = {"retry_after": retry_after}


def key_rate(api_key: ApiKey) -> str:
    return api_key.rate_limit or settings.API_KEY_DEFAULT_RATE


def _spend(request: Request, *, group: str, value: str, rate: str) -> dict[str, Any] | None:
    """The budget's usage, or None when the cache is down and RATELIMIT_FAIL_OPEN lets the request through.

    After a cache failure the cache is skipped for CACHE_RETRY_SECONDS, so a frozen Redis costs one socket
    timeout per process per retry period instead of one per request; the outage is logged once (portal.outages).
    """
    if not (outages.cache.is_down and time.monotonic() < outages.cache.retry_at):
        try:
            usage = get_usage(request._request, group=group, key=lambda _g, _r: value, rate=rate, increment=True)
        except Exception as exc:  # django-redis raises ConnectionInterrupted; other backends their own
            outages.cache.down(exc, retry_in=settings.CACHE_RETRY_SECONDS)
        else:
            outages.cache.up()
            return usage
    if getattr(settings, "RATELIMIT_FAIL_OPEN", True):
        return None  # refuse nothing rather than everything
    # Refusing with 429 would tell the client it sent too much; the truth is that we cannot count.
    raise ServiceUnavailable("Rate limiting is unavailable (cache down); retry shortly.")


def _client_ip(request: Request) -> str:
    meta_key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    return str(request.META.get(meta_key, "") or "unknown").split(",")[0].strip()


def check_key(request: Request, api_key: ApiKey) -> None:
    rate = key_rate(api_key)
    usage = _spend(request, group=KEY_GROUP, value=api_key.key_id, rate=rate)
    if usage and usage["should_limit"]:
        retry = max(1, int(usage["time_left"]))
        raise RateLimited(f"Rate limit {rate} exceeded for key {api_key.prefix}…; retry in {retry} s", retry)


def check_anonymous(request: Request) -> None:
    rate = settings.RATELIMIT_ANONYMOUS_RATE
    ip = _client_ip(request)
    usage = _spend(request, group=IP_GROUP, value=ip, rate=rate)
    if usage and usage["should_limit"]:
        retry = max(1, int(usage["time_left"]))
        raise RateLimited(
            f"Rate limit {rate} exceeded for unauthenticated requests from {ip}; retry in {retry} s", retry
        )


class RateLimitedMixin(APIView):
    """Spend the caller's budget before anything else runs (even before the scope check)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            api_key = request.auth
        except exceptions.AuthenticationFailed:
            check_anonymous(request)
            raise
        if isinstance(api_key, ApiKey):
            check_key(request, api_key)
        else:
            check_anonymous(request)
        super().initial(request, *args, **kwargs)
