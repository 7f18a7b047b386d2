"""The rate limiter's one-round-trip Lua counter on a real Redis: exact counts under concurrency, the key and
window django-ratelimit would use, its expiry, a busy key's per-process leases (one round trip per lease,
never more admitted than the budget), and RATELIMIT_FAIL_OPEN both ways with Redis unreachable."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from django.core.cache import caches
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import Organization
from ingest.scopes import METRICS_WRITE
from portal.api.ratelease import Leases, leases
from portal.api.ratelimit import KEY_GROUP
from portal.logging import cache_outage
from timeseries.models import DataPoint

REDIS_DB_URL = "redis://127.0.0.1:6379/7"  # tests/ingest/conftest.py's db; keys carry a per-test prefix


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[str]:
    from tests.ingest.conftest import redis_cache as fixture

    yield from fixture.__wrapped__(settings)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _cache_up() -> Iterator[None]:
    cache_outage.up()
    cache_outage.retry_at = 0.0
    leases.clear()  # no test spends another's tokens (their keys differ anyway: a per-test prefix)
    yield
    cache_outage.up()
    cache_outage.retry_at = 0.0


def _counter_key(issued: Any, rate: str, period: int = 60) -> str:
    bucket = issued.api_key.ratelimit_bucket
    window = _get_window(bucket, period)
    return str(caches["default"].make_key(_make_cache_key(KEY_GROUP, window, rate, bucket, ALL)))


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_are_counted_exactly(live_server: Any, redis_cache: str, org: Organization) -> None:
    issued = accounts.api_key_issue(organization=org, name="limited", scopes=[METRICS_WRITE], rate_limit="10/h")
    window = _get_window(issued.api_key.ratelimit_bucket, 3600)  # an hour: a window edge mid-test is ~1 in 3600
    url = f"{live_server.url}/api/v2/write?precision=s"
    headers = {"Authorization": f"Token {issued.plaintext}"}
    statuses: list[int] = []
    lock = threading.Lock()

    def push(i: int) -> None:
        response = requests.post(url, data=f"m,device=d v={i} {int(time.time()) - 60 + i}", headers=headers, timeout=30)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _get_window(issued.api_key.ratelimit_bucket, 3600) == window, "window ended mid-test: rerun"
    assert sorted(statuses) == [204] * 10 + [429] * 15
    assert DataPoint.objects.count() == 10
    client = redis.Redis.from_url(REDIS_DB_URL)
    key = _counter_key(issued, "10/h", 3600)
    assert int(client.get(key) or 0) == 25  # every request counted once, refused ones included
    assert 0 < client.ttl(key) <= 3600 + EXPIRATION_FUDGE  # the first increment set the expiry


@pytest.mark.django_db
def test_one_redis_command_per_request(redis_cache: str, org: Organization, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = accounts.api_key_issue(organization=org, name="k", scopes=[METRICS_WRITE], rate_limit="3/m")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.plaintext}")
    sent: list[str] = []
    real = redis.Redis.execute_command

    def spy(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]).upper())
        return real(self, *args, **options)

    statuses = []
    for i in range(4):
        if i == 1:
            monkeypatch.setattr(redis.Redis, "execute_command", spy)  # after the first: the script is loaded
        statuses.append(
            client.post(
                "/api/v2/write?precision=s",
                data=f"m,device=d v={i} {int(time.time()) - 60 + i}",
                content_type="text/plain",
            ).status_code
        )
    assert statuses == [204, 204, 204, 429]
    assert sent == ["EVALSHA"] * 3  # one round trip each; no SET NX + INCR (+ GET) as get_usage did
    assert int(redis.Redis.from_url(REDIS_DB_URL).get(_counter_key(issued, "3/m")) or 0) == 4


def _spy_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    real = redis.Redis.execute_command

    def spy(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]).upper())
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", spy)
    return sent


@pytest.mark.django_db
def test_a_busy_key_asks_redis_once_per_lease(
    redis_cache: str, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = accounts.api_key_issue(organization=org, name="busy", scopes=[METRICS_WRITE], rate_limit="1000/m")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.plaintext}")
    sent = _spy_commands(monkeypatch)
    now = int(time.time())

    def push(i: int) -> int:
        line = f"m,device=d v={i} {now - 60 + i}"
        return int(client.post("/api/v2/write?precision=s", data=line, content_type="text/plain").status_code)

    statuses = [push(i) for i in range(10)]
    by_ten = [c for c in sent if c != "EVAL"]  # EVAL only if this Redis had not loaded the script yet
    counter = redis.Redis.from_url(REDIS_DB_URL)
    key = _counter_key(issued, "1000/m")
    assert statuses == [204] * 10
    assert by_ten == ["EVALSHA"]  # one lease of 1 % (10 tokens) for ten requests
    assert int(counter.get(key) or 0) == 10  # Redis counted the whole lease when it handed it out
    sent.clear()
    assert push(10) == 204  # the eleventh needs the next lease
    assert sent == ["EVALSHA"]
    assert int(counter.get(key) or 0) == 20
    assert DataPoint.objects.count() == 11


@pytest.mark.django_db
def test_lease_max_one_counts_every_request(
    redis_cache: str, org: Organization, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.RATELIMIT_LEASE_MAX = 1
    issued = accounts.api_key_issue(organization=org, name="busy", scopes=[METRICS_WRITE], rate_limit="1000/m")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.plaintext}")
    sent = _spy_commands(monkeypatch)
    now = int(time.time())
    for i in range(5):
        line = f"m,device=d v={i} {now - 60 + i}"
        assert client.post("/api/v2/write?precision=s", data=line, content_type="text/plain").status_code == 204
    assert [c for c in sent if c != "EVAL"] == ["EVALSHA"] * 5
    assert int(redis.Redis.from_url(REDIS_DB_URL).get(_counter_key(issued, "1000/m")) or 0) == 5


def test_leases_of_many_processes_never_admit_more_than_the_budget(redis_cache: str) -> None:
    """Three processes' leases (250/window: 2 tokens a lease) spending in turn until each is refused."""
    client = redis.Redis.from_url(REDIS_DB_URL)
    key = f"{redis_cache}:lease-test"
    processes = [Leases(), Leases(), Leases()]
    admitted = [0, 0, 0]
    refused = [False, False, False]
    while not all(refused):
        for n, process in enumerate(processes):
            if refused[n]:
                continue
            if process.spend(client, key, limit=250, life=60, most=100):
                admitted[n] += 1
            else:
                refused[n] = True
    assert sum(admitted) == 250  # every token handed out was used, none twice, none beyond the budget
    assert min(admitted) > 0  # and all three shared the budget
    assert int(client.get(key) or 0) == 253  # the budget plus each process's refused request
    assert 0 < client.ttl(key) <= 60
    late = Leases()  # a process arriving after the budget is spent is refused at once
    assert late.spend(client, key, limit=250, life=60, most=100) is False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


@pytest.mark.django_db
@pytest.mark.parametrize("fail_open", [True, False], ids=["fail-open", "fail-closed"])
def test_redis_unreachable_follows_fail_open(settings: Any, org: Organization, fail_open: bool) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    settings.RATELIMIT_FAIL_OPEN = fail_open
    issued = accounts.api_key_issue(organization=org, name="k", scopes=[METRICS_WRITE], rate_limit="1/m")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.plaintext}")
    statuses = []
    for i in range(3):  # over the 1/m budget: with nothing counting, either all pass or none
        response = client.post(
            "/api/v2/write?precision=s", data=f"m,device=d v={i} {int(time.time()) - 60 + i}", content_type="text/plain"
        )
        statuses.append(response.status_code)
    if fail_open:
        assert statuses == [204, 204, 204]
        assert DataPoint.objects.count() == 3
    else:
        assert statuses == [503, 503, 503]
        assert response.json()["code"] == "unavailable"
        assert "Rate limiting is unavailable" in response.json()["message"]
        assert int(response["Retry-After"]) == settings.OUTAGE_RETRY_AFTER_SECONDS
        assert DataPoint.objects.count() == 0
    assert cache_outage.is_down
