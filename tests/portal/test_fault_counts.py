"""Each real server cut (the store also frozen) mid-load through a TCP proxy; a retrying client: 0 lost, 0 doubled.

A real gunicorn portal reaches PostgreSQL, Redis (the cache), the Celery broker (Redis) and InfluxDB (the
influx store) only through tests.proxy.TcpProxy. Three client threads write 450 batches of 5 points each
(tests/retrying_client.py) while the test cuts each dependency in turn for a few seconds, freezes the store,
and restores each. Afterwards the points are counted in InfluxDB itself (InfluxQL, not through Beacon):
exactly one point per value sent. Every failure a client saw is a JSON 503 `unavailable` with Retry-After,
and a dependency the write path does not need (the cache with RATELIMIT_FAIL_OPEN=1, the broker) costs no
failure at all. With RATELIMIT_FAIL_OPEN=0 the cache outage is a 503 (Retry-After 5) and is retried the same
way (that case cuts the cache only). About 50 s and 25 s.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from accounts import services
from accounts.models import Organization
from ingest.scopes import METRICS_WRITE
from tests.proxy import TcpProxy
from tests.retrying_client import POINTS_PER_BATCH, Load, wait_for_batches
from tests.servers import GunicornPortal, InfluxServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REDIS_DB = 7  # this checkout's Redis db for the cache; the broker's keys live under a prefix of their own
BATCHES, CLIENTS, INTERVAL_S = 450, 3, 0.2  # about 15 batches a second: the load spans every outage
OUTAGE_S = 3.0


def _redis_up() -> None:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        from tests.conftest import require_server

        require_server(False, "Redis is not running on 127.0.0.1:6379")


@pytest.fixture
def stack(
    request: pytest.FixtureRequest, settings: Any, tmp_path: Path, influx_server: InfluxServer
) -> Iterator[tuple[GunicornPortal, dict[str, TcpProxy], str, bool]]:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (gunicorn runs in another process)")
    _redis_up()
    if not influx_server.running:
        influx_server.start()
    bucket = f"t_{uuid.uuid4().hex[:12]}"
    influx_server.create_database(bucket)
    proxies = {
        "database": TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)),
        "cache": TcpProxy("127.0.0.1", 6379),
        "broker": TcpProxy("127.0.0.1", 6379),
        "store": TcpProxy("127.0.0.1", int(influx_server.url.rsplit(":", 1)[1])),
    }
    fail_open = request.param == "fail-open"
    user = db.get("USER") or "postgres"
    prefix = f"beacon-faults-{uuid.uuid4().hex[:8]}:"
    portal = GunicornPortal(
        env={
            "DJANGO_SETTINGS_MODULE": "tests.celery_settings",
            "BEACON_TEST_BROKER_KEYPREFIX": prefix,
            "DATABASE_URL": f"postgres://{user}@127.0.0.1:{proxies['database'].port}/{db['NAME']}",
            "DB_CONNECT_TIMEOUT": "2",
            "DB_STATEMENT_TIMEOUT": "1000",
            "DB_CONN_MAX_AGE": "60",
            "REDIS_URL": f"redis://127.0.0.1:{proxies['cache'].port}/{REDIS_DB}",
            "RATELIMIT_FAIL_OPEN": "1" if fail_open else "0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{proxies['broker'].port}/{REDIS_DB}",
            "TIMESERIES_BACKEND": "influx",
            "INFLUX_URL": f"http://127.0.0.1:{proxies['store'].port}",
            "INFLUX_TOKEN": "faults-token",
            "INFLUX_BUCKET": bucket,
            "INFLUX_TIMEOUT_MS": "1500",
        },
        log_dir=tmp_path,
    )
    try:
        yield portal, proxies, bucket, fail_open
    finally:
        portal.close()
        for proxy in proxies.values():
            proxy.close()
        influx_server.drop_database(bucket)
        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
        for pattern in ("beacon:*", f"{prefix}*"):
            for name in client.scan_iter(match=pattern):
                client.delete(name)


def _stored_values(influx_server: InfluxServer, bucket: str) -> list[float]:
    result: Any = influx_server.query('SELECT "v" FROM "load"', db=bucket)
    [statement] = result["results"]
    return sorted(value for series in statement.get("series", []) for _, value in series["values"])


@pytest.mark.parametrize("stack", ["fail-open", "fail-closed"], indirect=True)
def test_each_dependency_cut_mid_load_loses_and_doubles_no_point(
    stack: tuple[GunicornPortal, dict[str, TcpProxy], str, bool], org: Organization, influx_server: InfluxServer
) -> None:
    portal, proxies, bucket, fail_open = stack
    token = services.api_key_issue(organization=org, name="faults", scopes=[METRICS_WRITE]).plaintext
    load = Load(portal.url, token, interval=INTERVAL_S)
    threads = [
        threading.Thread(target=load.run, args=([b for b in range(BATCHES) if b % CLIENTS == c],))
        for c in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    wait_for_batches(load, 10)
    outages = [("cache", "cut"), ("broker", "cut"), ("store", "cut"), ("store", "freeze"), ("database", "cut")]
    if not fail_open:  # the case differs in the cache only
        outages = [("cache", "cut")]
    for dependency, mode in outages:
        assert len(load.stored_batches) < BATCHES - 30, "the load must still be running at each outage"
        load.phase = f"{dependency} {mode}"
        getattr(proxies[dependency], mode)()
        time.sleep(OUTAGE_S)
        proxies[dependency].restore()
        load.phase = f"after {dependency} {mode}"
        wait_for_batches(load, min(BATCHES, len(load.stored_batches) + 10))
    load.interval = 0.0  # the rest at full speed
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    # 0 lost, 0 doubled: every batch answered 204 once, every value stored once, counted in InfluxDB itself.
    assert sorted(load.stored_batches) == list(range(BATCHES))
    assert _stored_values(influx_server, bucket) == [float(v) for v in range(BATCHES * POINTS_PER_BATCH)]

    for failure in load.failures:
        assert (failure.status, failure.content_type, failure.code) == (503, "application/json", "unavailable"), failure
        assert failure.retry_after in {"5", "10"}, failure
    by_phase = Counter(f.phase.removeprefix("after ") for f in load.failures)
    assert by_phase["normal"] == 0, [f for f in load.failures if f.phase == "normal"]
    if fail_open:
        assert by_phase["store cut"] and by_phase["store freeze"] and by_phase["database cut"], by_phase
    assert by_phase["broker cut"] == 0, by_phase  # no write needs the broker
    cache = [f.retry_after for f in load.failures if f.phase.endswith("cache cut")]
    if fail_open:
        assert cache == [], by_phase  # the rate limit is skipped while Redis is away
    else:
        assert cache and set(cache) == {"5"}, by_phase
