"""Beacon's own metrics end to end: a real Prometheus scrapes `/-/metrics` (bearer token) of a real gunicorn
with 3 workers (prometheus_client multiprocess mode, gunicorn.conf.py's hooks) and a real Celery worker
counting into its own directory. After known traffic, the values Prometheus stored are the traffic's counts
summed across every process, and every query of the "Beacon itself" Grafana board is valid PromQL that
returns data."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.celery_fixtures import Broker, CeleryProcess
from tests.conftest import require_server
from tests.portal.test_grafana_dashboards import promql_targets
from tests.quotas.prometheus_server import PrometheusServer, prometheus_available
from tests.servers import GunicornPortal

TOKEN = "ops-live-token-" + "z" * 24
WRITES, POINTS_PER_WRITE, BAD_WRITES, DETAIL_READS, UNKNOWN_PATHS = 12, 5, 3, 7, 4


@pytest.fixture
def celery_broker(filesystem_broker: Broker) -> Broker:
    return filesystem_broker  # one broker is enough here; the celery tests cover both


class OpsPrometheus(PrometheusServer):
    """Scrapes one target's /-/metrics every second with the bearer token."""

    def __init__(self, target: str, token_file: Path) -> None:
        super().__init__([f"http://{target}/-/metrics"])
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "beacon-ops",
                    "metrics_path": "/-/metrics",
                    "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
                    "static_configs": [{"targets": [target]}],
                }
            ],
        }
        (self.dir / "prometheus.yml").write_text(json.dumps(config))

    def instant(self, promql: str) -> dict[str, Any]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:  # a bad query is a 400 with the error in the body
            return json.loads(exc.read())  # type: ignore[no-any-return]


@pytest.fixture
def stack(
    celery_producer: Broker, start_celery: Any, settings: Any, tmp_path: Path
) -> Iterator[tuple[GunicornPortal, CeleryProcess, Path]]:
    require_server(prometheus_available(), "prometheus not installed (apt install prometheus)")
    metrics = tmp_path / "metrics"
    worker = start_celery("worker", celery_producer, env={"PROMETHEUS_MULTIPROC_DIR": str(metrics / "worker")})
    db = settings.DATABASES["default"]
    database_url = f"postgres://{db.get('USER') or 'postgres'}@127.0.0.1:{db.get('PORT') or 5432}/{db['NAME']}"
    (tmp_path / "web-logs").mkdir()
    stale = metrics / "web" / "counter_999999.db"  # a previous run's file: gunicorn must wipe it
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over")
    portal = GunicornPortal(
        env={
            "DATABASE_URL": database_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics / "web"),
            "OPS_METRICS_WORKER_DIR": str(metrics / "worker"),
            "OPS_METRICS_TOKEN": TOKEN,
            **celery_producer.env,
        },
        log_dir=tmp_path / "web-logs",
        workers=3,
        threads=2,
    )
    try:
        assert not stale.exists()
        yield portal, worker, metrics
    finally:
        portal.close()


def _scraped(portal: GunicornPortal) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(f"{portal.url}/-/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_prometheus_scrapes_counts_summed_across_gunicorn_and_celery_workers(
    stack: tuple[GunicornPortal, CeleryProcess, Path], org: Any, device: Any, issue_key: Any, tmp_path: Path
) -> None:
    portal, worker, metrics = stack
    key = issue_key(org)
    auth = {"Authorization": f"Bearer {key}"}
    assert requests.get(f"{portal.url}/-/metrics", timeout=5).status_code == 401
    for i in range(WRITES):  # a new connection each: gunicorn spreads them over its workers
        body = "\n".join(f"cpu,device=edge-01 usage={i * 10 + j}" for j in range(POINTS_PER_WRITE))
        assert requests.post(f"{portal.url}/api/v2/write", data=body, headers=auth, timeout=10).status_code == 204
    for _ in range(BAD_WRITES):
        assert requests.post(f"{portal.url}/api/v2/write", data="cpu x=", headers=auth, timeout=10).status_code == 400
    for _ in range(DETAIL_READS):
        assert requests.get(f"{portal.url}/api/v1/devices/{device.slug}", headers=auth, timeout=10).status_code == 200
    for n in range(UNKNOWN_PATHS):
        assert requests.get(f"{portal.url}/{org.slug}/nothing-{n}", timeout=10).status_code == 404

    from portal.celery import app

    for _ in range(3):
        app.send_task("portal.beat_heartbeat")
    app.send_task("portal.beat_heartbeat", args=[1, 2])  # a TypeError in the worker: a failure
    worker.wait_for_log(r"(?s)(succeeded.*){3}")
    worker.wait_for_log(r"beat_heartbeat\[\S+\] raised unexpected: TypeError")

    web_pids = {p.name.split("_")[-1] for p in (metrics / "web").glob("counter_*.db")}
    assert len(web_pids) >= 2, web_pids  # several workers counted; the sums below add their files

    found = _scraped(portal)
    write = (("method", "POST"), ("route", "/api/v2/write"))
    assert found[("beacon_http_requests_total", (*write, ("status", "204")))] == WRITES
    assert found[("beacon_http_requests_total", (*write, ("status", "400")))] == BAD_WRITES
    detail = (("method", "GET"), ("route", "/api/v1/devices/<str:slug>"), ("status", "200"))
    assert found[("beacon_http_requests_total", detail)] == DETAIL_READS
    unmatched = (("method", "GET"), ("route", "<unmatched>"), ("status", "404"))
    assert found[("beacon_http_requests_total", unmatched)] == UNKNOWN_PATHS
    assert found[("beacon_http_request_duration_seconds_count", (("route", "/api/v2/write"),))] == WRITES + BAD_WRITES
    assert found[("beacon_ingest_points_total", (("outcome", "stored"),))] == WRITES * POINTS_PER_WRITE
    assert found[("beacon_ingest_batches_total", (("outcome", "stored"),))] == WRITES
    assert found[("beacon_ingest_batches_total", (("outcome", "invalid"),))] == BAD_WRITES
    task = (("outcome", "success"), ("task", "portal.beat_heartbeat"))
    assert found[("beacon_celery_tasks_total", task)] == 3
    assert found[("beacon_celery_tasks_total", (("outcome", "failure"), ("task", "portal.beat_heartbeat")))] == 1
    assert found[("beacon_celery_broker_up", ())] == 1  # the filesystem queue the worker shares with the web
    assert found[("beacon_celery_queue_depth", (("queue", "celery"),))] == 0  # all four consumed
    text = requests.get(f"{portal.url}/-/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
    assert org.slug not in text and device.slug not in text and "nothing-" not in text

    token_file = tmp_path / "ops_token"
    token_file.write_text(TOKEN + "\n")
    prometheus = OpsPrometheus(portal.url.split("//", 1)[1], token_file)
    prometheus.start()
    try:
        expected = {
            'sum(beacon_http_requests_total{route="/api/v2/write",status="204"})': WRITES,
            'sum(beacon_http_requests_total{route="<unmatched>"})': UNKNOWN_PATHS,
            'sum(beacon_ingest_points_total{outcome="stored"})': WRITES * POINTS_PER_WRITE,
            'sum(beacon_celery_tasks_total{task="portal.beat_heartbeat",outcome="success"})': 3,
            'up{job="beacon-ops"}': 1,
        }
        deadline, got = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            got = {q: [float(r["value"][1]) for r in prometheus.instant(q)["data"]["result"]] for q in expected}
            if got == {q: [float(v)] for q, v in expected.items()}:
                break
            time.sleep(0.5)
        assert got == {q: [float(v)] for q, v in expected.items()}
        time.sleep(3)  # a few more scrapes: rate() over the board's window needs two samples
        for where, expr in promql_targets():
            answer = prometheus.instant(expr.replace("$__rate_interval", "1m"))
            assert answer["status"] == "success", f"{where}: {answer}"
            assert answer["data"]["result"], f"{where}: no data for {expr}"
    finally:
        prometheus.stop()
