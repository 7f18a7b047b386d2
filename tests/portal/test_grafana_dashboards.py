"""Grafana's provisioned dashboards: the JSON parses, and every InfluxQL query returns data from points
written through Beacon's write API into a real InfluxDB (the measurements and fields Beacon stores)."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "docker" / "grafana"
sys.path.insert(0, str(ROOT / "agent"))

from beacon_agent.collectors import COLLECTORS, collect_all  # noqa: E402
from beacon_agent.context import Context  # noqa: E402
from beacon_agent.lineprotocol import encode_batch  # noqa: E402


def all_dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))}


def dashboards() -> dict[str, dict[str, Any]]:
    """The InfluxDB boards (tenants' data); "Beacon itself" reads Prometheus (tests/portal/test_opsmetrics_live.py)."""
    return {name: board for name, board in all_dashboards().items() if board["uid"] != "beacon-itself"}


def promql_targets() -> list[tuple[str, str]]:
    board = all_dashboards()["beacon-itself.json"]
    return [(f"{p['title']} {t['refId']}", t["expr"]) for p in board["panels"] for t in p.get("targets", [])]


def test_beacon_itself_board_reads_the_provisioned_prometheus():
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "beacon-influxdb.yaml").read_text())
    prometheus = next(ds for ds in provisioned["datasources"] if ds["type"] == "prometheus")
    board = all_dashboards()["beacon-itself.json"]
    assert board["panels"][0] == {**board["panels"][0], "type": "row", "title": "Beacon itself"}
    for panel in board["panels"][1:]:
        assert panel["datasource"]["uid"] == prometheus["uid"]
        assert all(t["datasource"]["uid"] == prometheus["uid"] for t in panel["targets"])
    names = {m for _, q in promql_targets() for m in re.findall(r"\b(beacon_\w+)", q)}
    assert {n.removesuffix("_bucket") for n in names} == {
        "beacon_http_requests_total",
        "beacon_http_request_duration_seconds",
        "beacon_ingest_points_total",
        "beacon_ingest_batches_total",
        "beacon_store_errors_total",
        "beacon_rate_limited_total",
        "beacon_celery_tasks_total",
        "beacon_scrapes_total",
        "beacon_scrape_duration_seconds",
        "beacon_notification_deliveries_total",
        "beacon_celery_queue_depth",
        "beacon_celery_broker_up",
    }
    scrape = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text())
    ops = next(job for job in scrape["scrape_configs"] if job["job_name"] == "beacon-ops")
    assert ops["metrics_path"] == "/-/metrics"
    assert ops["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/ops_metrics_token"}


def influxql_targets() -> list[tuple[str, str]]:
    found = []
    for name, board in dashboards().items():
        for panel in board["panels"]:
            for target in panel["targets"]:
                found.append((f"{name}: {panel['title']} {target['refId']}", target["query"]))
        for variable in board["templating"]["list"]:
            found.append((f"{name}: variable {variable['name']}", variable["query"]))
    return found


def test_dashboards_parse_and_use_the_provisioned_datasource():
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "beacon-influxdb.yaml").read_text())
    influx = next(ds for ds in provisioned["datasources"] if ds["type"] == "influxdb")
    assert influx["jsonData"]["version"] == "InfluxQL" and influx["jsonData"]["dbName"] == "beacon"
    assert influx["secureJsonData"]["httpHeaderValue1"] == "Token $INFLUX_TOKEN"  # from the secret, not the file
    boards = dashboards()
    assert {board["uid"] for board in boards.values()} == {"beacon-devices", "beacon-gateway"}
    for board in boards.values():
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == influx["uid"]
            assert all(t["datasource"]["uid"] == influx["uid"] and t["rawQuery"] for t in panel["targets"])
    measurements = {m for _, q in influxql_targets() for m in re.findall(r'FROM "(\w+)"', q)}
    assert measurements == {"cpu", "mem", "disk", "net", "system", "kong_bandwidth"}


def _agent_lines() -> bytes:
    """Two real collection rounds on this machine (rates need two), as the agent sends them."""
    ctx = Context()
    points = []
    for _ in range(2):
        ctx.now_ns, ctx.monotonic = time.time_ns(), time.monotonic()
        collected, failed = collect_all(ctx, list(COLLECTORS))
        assert failed == 0
        points = collected
        time.sleep(1.1)
    for point in points:
        point.tags["device"] = "edge-01"
    return encode_batch(points, precision="ns")


def _substitute(query: str, tenant: str) -> str:
    return (
        query.replace("$timeFilter", "time > now() - 1h")
        .replace("$__interval", "1m")
        .replace("$tenant", re.escape(tenant))
        .replace("$device", ".*")
        .replace("$service", ".*")
    )


@pytest.mark.django_db
def test_every_dashboard_query_returns_what_beacon_wrote(influx_backend, influx_server, influx_database, api, org):
    now = time.time_ns()
    bandwidth = "\n".join(
        f"kong_bandwidth,service=shop-svc,route={route},direction={direction},device=kong-a bytes={n}i {now}"
        for route, direction, n in [
            ("checkout", "egress", 5000),
            ("checkout", "ingress", 250),
            ("search", "egress", 900),
        ]
    )
    body = _agent_lines() + b"\n" + bandwidth.encode()
    response = api.post("/api/v2/write?precision=ns", data=body, content_type="text/plain")
    assert response.status_code == 204, response.content

    for where, query in influxql_targets():
        answer = requests.get(
            f"{influx_server.direct_url}/query",
            params={"db": influx_database, "q": _substitute(query, str(org.id))},
            timeout=10,
        ).json()
        result = answer["results"][0]
        assert "error" not in result, f"{where}: {result.get('error')}"
        series = result.get("series", [])
        assert series, f"{where}: no data for {query}"
        values = [v for s in series for row in s["values"] for v in row[1:] if v is not None]
        assert values, f"{where}: only nulls"
        if query.startswith("SELECT"):
            assert all(isinstance(v, (int, float)) for v in values), where
    bytes_query = next(q for w, q in influxql_targets() if "Bytes per service" in w)
    answer = requests.get(
        f"{influx_server.direct_url}/query",
        params={"db": influx_database, "q": _substitute(bytes_query, str(org.id))},
        timeout=10,
    ).json()
    totals = {s["tags"]["direction"]: sum(v for _, v in s["values"] if v) for s in answer["results"][0]["series"]}
    assert totals == {"egress": 5900, "ingress": 250}
