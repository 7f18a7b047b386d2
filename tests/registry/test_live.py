"""Against the portal under gunicorn (production settings) and real clients: prometheus_client's own
push_to_gateway / pushadd_to_gateway / delete_from_gateway, a real Prometheus scraping /metrics with a bearer
key, 50 concurrent incrementers, and a restart that loses nothing."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import default_handler, delete_from_gateway, push_to_gateway, pushadd_to_gateway
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import Organization
from tests.conftest import require_server
from tests.quotas.prometheus_server import PrometheusServer, prometheus_available
from tests.servers import GunicornPortal

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url(settings: Any) -> str:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs the Postgres test database (gunicorn runs in another process)")
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{db.get('USER') or 'postgres'}@{host}/{db['NAME']}"


@pytest.fixture
def start_portal(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[Callable[[], GunicornPortal]]:
    started: list[GunicornPortal] = []
    url = _database_url(settings)

    def start() -> GunicornPortal:
        portal = GunicornPortal(env={"DATABASE_URL": url, "RATELIMIT_ENABLE": "0"}, log_dir=tmp_path)
        started.append(portal)
        return portal

    yield start
    for portal in started:
        portal.close()


@pytest.fixture
def key(org: Organization, issue_key: Callable[..., str]) -> str:
    return issue_key(org, ["gauges:write", "gauges:read", "scrape"])


def bearer(key: str) -> Callable[..., Any]:
    """A prometheus_client handler adding the key: what docs/registry.md tells users to pass."""

    def handler(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes) -> Any:
        return default_handler(url, method, timeout, [*headers, ("Authorization", f"Bearer {key}")], data)

    return handler


def call(
    portal: GunicornPortal, key: str, method: str, path: str, body: bytes = b"", accept: str = ""
) -> tuple[int, bytes]:
    request = urllib.request.Request(portal.url + path, data=body or None, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def samples(portal: GunicornPortal, key: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = call(portal, key, "GET", "/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(body.decode())
        for s in f.samples
    }


def test_prometheus_client_push_functions_work_unchanged(start_portal: Callable[[], GunicornPortal], key: str) -> None:
    portal = start_portal()
    registry = CollectorRegistry()
    done = Counter("jobs_done", "Jobs finished", registry=registry)
    last = Gauge("last_success_unixtime", "Last success", registry=registry)
    done.inc(3)
    last.set(1234.5)
    gateway = portal.url
    push_to_gateway(gateway, job="nightly", registry=registry, grouping_key={"shard": "a/b"}, handler=bearer(key))
    got = samples(portal, key)
    labels = (("instance", ""), ("job", "nightly"), ("shard", "a/b"))  # a '/' goes as @base64
    assert got[("jobs_done_total", labels)] == 3
    assert got[("last_success_unixtime", labels)] == 1234.5
    other = CollectorRegistry()
    Gauge("batch_size", "Rows", registry=other).set(7)
    pushadd_to_gateway(gateway, job="nightly", registry=other, grouping_key={"shard": "a/b"}, handler=bearer(key))
    got = samples(portal, key)
    assert got[("batch_size", labels)] == 7 and got[("jobs_done_total", labels)] == 3  # POST kept the others
    push_to_gateway(gateway, job="nightly", registry=other, grouping_key={"shard": "a/b"}, handler=bearer(key))
    assert ("jobs_done_total", labels) not in samples(portal, key)  # PUT replaced the group
    delete_from_gateway(gateway, job="nightly", grouping_key={"shard": "a/b"}, handler=bearer(key))
    assert ("batch_size", labels) not in samples(portal, key)
    with pytest.raises(OSError, match="401"):
        push_to_gateway(gateway, job="nightly", registry=registry)  # no key


def test_real_prometheus_scrapes_with_a_bearer_key(start_portal: Callable[[], GunicornPortal], key: str) -> None:
    require_server(prometheus_available(), "Debian's prometheus is not installed")
    portal = start_portal()
    assert call(portal, key, "POST", "/api/v1/gauges/spiders_running", b"spiders")[0] == 201
    assert call(portal, key, "PUT", "/api/v1/gauges/spiders_running", b"41")[0] == 204
    assert call(portal, key, "PUT", "/api/v1/gauges/spiders_running/inc")[0] == 204
    assert call(portal, key, "PUT", "/metrics/job/crawler/instance/host-1", b'pages_total{site="x"} 99\n')[0] == 200
    prometheus = PrometheusServer([portal.url])
    target = portal.url.split("//", 1)[1]
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "beacon-registry",
                "metrics_path": "/metrics",
                "honor_labels": True,  # keep pushed job/instance labels, as with a Pushgateway
                "authorization": {"type": "Bearer", "credentials": key},
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    (prometheus.dir / "prometheus.yml").write_text(json.dumps(config))
    prometheus.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            gauge = prometheus.query("spiders_running")
            pushed = prometheus.query('pages_total{job="crawler",instance="host-1"}')
            if gauge and pushed:
                break
            assert time.monotonic() < deadline, prometheus.query("up")
            time.sleep(0.5)
        assert float(gauge[0]["value"][1]) == 42.0  # type: ignore[index]
        assert float(pushed[0]["value"][1]) == 99.0  # type: ignore[index]
        assert float(prometheus.query("beacon_registry_gauges")[0]["value"][1]) == 1.0  # type: ignore[index]
        assert float(prometheus.query("up")[0]["value"][1]) == 1.0  # type: ignore[index]
    finally:
        prometheus.stop()


def test_concurrent_increments_lose_none_and_survive_a_restart(
    start_portal: Callable[[], GunicornPortal], key: str
) -> None:
    portal = start_portal()  # 2 workers x 4 threads: real concurrency in PostgreSQL
    assert call(portal, key, "POST", "/api/v1/gauges/kills", b"kills")[0] == 201
    errors: list[object] = []

    def hammer() -> None:
        for _ in range(20):
            status, body = call(portal, key, "PUT", "/api/v1/gauges/kills/inc")
            if status != 204:
                errors.append((status, body))
        status, body = call(portal, key, "PUT", "/api/v1/gauges/kills/add", b"0.5")
        if status != 204:
            errors.append((status, body))

    threads = [threading.Thread(target=hammer) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert call(portal, key, "GET", "/api/v1/gauges/kills") == (200, b"1025.0")  # 50 x (20 + 0.5)
    assert call(portal, key, "PUT", "/metrics/job/spider", b"wasted_seconds 12\n")[0] == 200
    portal.close()
    restarted = start_portal()
    assert call(restarted, key, "GET", "/api/v1/gauges/kills") == (200, b"1025.0")
    assert samples(restarted, key)[("wasted_seconds", (("instance", ""), ("job", "spider")))] == 12
