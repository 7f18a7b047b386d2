"""Request budgets with django-ratelimit: per grant (API key or member), and per client IP before authentication.

Counts live in the default cache, so every worker and host behind the same Redis
shares them. A failed authentication spends the IP's budget, which slows key guessing.

The windows, keys and answers are django-ratelimit's (`get_usage`); on Redis (django-redis) the count is
spent by one Lua script in one round trip, instead of get_usage's SET NX then INCR (two or three round
trips: a third of a small push's time, docs/benchmarks.md), and a busy key's process leases up to 1 % of
its budget per call (portal/api/ratelease.py), so it asks Redis once per lease instead of once per request.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key, _split_rate, get_usage
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from portal.api.errors import InvalidRequest, RateLimited, Unavailable
from portal.api.opsmetrics import RATE_LIMITED
from portal.api.permissions import Grant, request_grant
from portal.api.ratelease import leases
from portal.logging import cache_outage

KEY_GROUP = "beacon.api-key"
IP_GROUP = "beacon.anonymous-ip"


def _usage(request: Request, *, group: str, value: str, rate: str) -> dict[str, Any] | None:
    """django-ratelimit's get_usage(..., increment=True) answer, in at most one Redis round trip."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]  # django-ratelimit's setting
    client_of = getattr(getattr(cache, "client", None), "get_client", None)  # django-redis only
    if client_of is None:  # LocMem (the one-process demo) or another backend: django-ratelimit itself
        return get_usage(request._request, group=group, key=lambda _g, _r: value, rate=rate, increment=True)
    limit, period = _split_rate(rate)
    window = _get_window(value, period)
    key = cache.make_key(_make_cache_key(group, window, rate, value, ALL))  # the key get_usage would use
    client = client_of(write=True)
    # Failing closed means Redis decides every request, so an outage refuses at once (docs/reliability.md).
    most = settings.RATELIMIT_LEASE_MAX if getattr(settings, "RATELIMIT_FAIL_OPEN", True) else 1
    admitted = leases.spend(client, key, limit=limit, life=period + EXPIRATION_FUDGE, most=most)
    return {"limit": limit, "should_limit": not admitted, "time_left": window - int(time.time())}


def _spend(request: Request, *, group: str, value: str, rate: str) -> dict[str, Any] | None:
    """The budget's usage, or None when the cache is down and RATELIMIT_FAIL_OPEN lets the request through.

    After a cache failure the cache is skipped for CACHE_RETRY_SECONDS, so a frozen Redis costs one socket
    timeout per process per retry period instead of one per request; the outage is logged once (portal.logging).
    """
    if not (cache_outage.is_down and time.monotonic() < cache_outage.retry_at):
        try:
            usage = _usage(request, group=group, value=value, rate=rate)
        except Exception as exc:  # django-redis raises ConnectionInterrupted; other backends their own
            cache_outage.down(exc, retry_in=settings.CACHE_RETRY_SECONDS)
        else:
            cache_outage.up()
            return usage
    if getattr(settings, "RATELIMIT_FAIL_OPEN", True):
        return None  # refuse nothing rather than everything
    # Refusing with 429 would tell the client it sent too much; the truth is that we cannot count.
    raise Unavailable(
        "Rate limiting is unavailable (cache down); retry shortly.", retry_after=settings.OUTAGE_RETRY_AFTER_SECONDS
    )


def _client_ip(request: Request) -> str:
    meta_key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    return str(request.META.get(meta_key, "") or "unknown").split(",")[0].strip()


def check_grant(request: Request, grant: Grant) -> None:
    rate = grant.ratelimit_rate
    usage = _spend(request, group=KEY_GROUP, value=grant.ratelimit_bucket, rate=rate)
    if usage and usage["should_limit"]:
        RATE_LIMITED.labels("key").inc()
        retry = max(1, int(usage["time_left"]))
        raise RateLimited(
            f"Rate limit {rate} exceeded for {grant.ratelimit_label}; retry in {retry} s", retry_after=retry
        )


def check_anonymous(request: Request) -> None:
    rate = settings.RATELIMIT_ANONYMOUS_RATE
    ip = _client_ip(request)
    usage = _spend(request, group=IP_GROUP, value=ip, rate=rate)
    if usage and usage["should_limit"]:
        RATE_LIMITED.labels("anonymous").inc()
        retry = max(1, int(usage["time_left"]))
        raise RateLimited(
            f"Rate limit {rate} exceeded for unauthenticated requests from {ip}; retry in {retry} s",
            retry_after=retry,
        )


class RateLimitedMixin(APIView):
    """Spend the caller's budget before anything else runs (even before the scope check)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        try:
            grant = request_grant(request)
        except exceptions.AuthenticationFailed:
            check_anonymous(request)
            raise
        if grant is not None:
            check_grant(request, grant)
        else:
            check_anonymous(request)
        _refuse_nul_parameters(request)
        super().initial(request, *args, **kwargs)


def _refuse_nul_parameters(request: Request) -> None:
    # PostgreSQL text cannot hold NUL, so a filter value with one can match nothing and would reach the
    # database only to fail there as a 500: say which parameter instead.
    for name, values in request.query_params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise InvalidRequest(f"parameter {name.replace(chr(0), '')!r}: contains a NUL character")
