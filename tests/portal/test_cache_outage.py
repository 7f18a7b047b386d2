"""Redis frozen and cut, through a TCP proxy between a real gunicorn portal and a real Redis.

A frozen cache must cost milliseconds per request (socket timeouts plus the rate limiter's breaker), the
outcome must follow RATELIMIT_FAIL_OPEN (through, or JSON 503 + Retry-After; never 429), and the log must
say "down" once and "up" once, not once per request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from accounts import services
from accounts.models import Organization
from ingest.scopes import METRICS_WRITE
from tests.proxy import TcpProxy
from tests.servers import GunicornPortal

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REDIS_DB = 11  # this test's own Redis database; keys also carry the random key id
FAST_S = 0.5  # loose: without socket timeouts and the breaker each request waited about 1 s
HANG_S = 5.0  # no request hangs on a frozen Redis


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        from tests.conftest import require_server

        require_server(False, "Redis is not running on 127.0.0.1:6379")
    proxy = TcpProxy("127.0.0.1", 6379)
    yield proxy
    proxy.close()


def _portal(proxy: TcpProxy, settings: Any, tmp_path: Path, *, fail_open: bool) -> GunicornPortal:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (gunicorn runs in another process)")
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    database_url = f"postgres://{db.get('USER') or 'postgres'}@{host}:{port}/{db['NAME']}"
    return GunicornPortal(
        env={
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}",
            "RATELIMIT_FAIL_OPEN": "1" if fail_open else "0",
        },
        log_dir=tmp_path,
        workers=1,  # one process, so "once per state change" is exactly one line
    )


def _write(url: str, token: str, i: int) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.post(
        f"{url}/api/v2/write?precision=s",
        data=f"m,device=d v={i} {int(time.time()) - 60 + i % 50}",
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    return response, time.monotonic() - started


@pytest.mark.parametrize("fail_open", [True, False], ids=["fail-open", "fail-closed"])
def test_frozen_and_cut_redis_costs_milliseconds_and_follows_fail_open(
    redis_proxy: TcpProxy, settings: Any, tmp_path: Path, org: Organization, fail_open: bool
) -> None:
    portal = _portal(redis_proxy, settings, tmp_path, fail_open=fail_open)
    try:
        token = services.api_key_issue(organization=org, name="t", scopes=[METRICS_WRITE]).plaintext
        assert [_write(portal.url, token, i)[0].status_code for i in range(3)] == [204, 204, 204]

        outcomes = []
        redis_proxy.freeze()
        outcomes += [_write(portal.url, token, i) for i in range(20)]
        redis_proxy.cut()
        outcomes += [_write(portal.url, token, i) for i in range(10)]
        # The median, not each request: on a loaded 2-core box one request may be descheduled for a second;
        # without the timeouts and the breaker every one waited about 1 s (and a frozen Redis hung forever).
        durations = sorted(seconds for _, seconds in outcomes)
        assert durations[len(durations) // 2] < FAST_S, durations
        assert durations[-1] < HANG_S, durations
        for response, _ in outcomes:
            if fail_open:
                assert response.status_code == 204, response.text
            else:
                assert response.status_code == 503, response.text
                assert response.headers["Retry-After"] == "5"
                assert response.json() == {
                    "code": "unavailable",
                    "message": "Rate limiting is unavailable (cache down); retry shortly.",
                    "retry_after": 5,
                }
        total = sum(seconds for _, seconds in outcomes)
        assert total < 30 * FAST_S / 2, total  # most requests skip the cache entirely (the breaker)

        redis_proxy.restore()
        time.sleep(settings.CACHE_RETRY_SECONDS + 0.2)
        assert _write(portal.url, token, 99)[0].status_code == 204  # back without a restart
        # ... and counting again: the key's counter is in Redis.
        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
        assert any(client.scan_iter(match="beacon:*rl:*")), "no rate-limit counter written after recovery"

        lines = [r for r in portal.log_records() if r.get("logger") == "beacon.outage"]
        assert [(r["dependency"], r["state"]) for r in lines] == [("cache", "down"), ("cache", "up")], lines
        assert "Traceback" not in (tmp_path / "portal.log").read_text() + portal.output()
    finally:
        portal.close()
        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
        for key in client.scan_iter(match="beacon:*"):
            client.delete(key)
