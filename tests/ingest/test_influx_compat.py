"""Stock clients against our /api/v2/write, both store backends, and a store outage (real influxd)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from accounts import services as accounts
from accounts.models import Organization
from devices.models import Device
from ingest.scopes import METRICS_READ, METRICS_WRITE
from timeseries import get_store

pytestmark = pytest.mark.django_db(transaction=True)

NS = 1_000_000_000


@pytest.fixture(params=["sql", "influx"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "influx":
        request.getfixturevalue("influx_backend")
    return str(request.param)


def test_influxdb_client_write_api_works_unchanged(
    backend: str, live_server: Any, org: Organization, read_points: Callable
) -> None:
    issued = accounts.api_key_issue(organization=org, name="telegraf", scopes=[METRICS_WRITE])
    t = (time.time_ns() - 60 * NS) // 1000 * 1000  # µs-aligned so both backends store it exactly
    points = [
        Point("cpu")
        .tag("device", "gw-1")
        .tag("core", "0")
        .field("usage", 12.5)
        .field("n", 3)
        .time(t, WritePrecision.NS),
        Point("cpu")
        .tag("device", "gw-1")
        .tag("core", "1")
        .field("usage", 7.25)
        .field("n", 4)
        .time(t, WritePrecision.NS),
        Point("cpu")
        .tag("device", "gw 2,x=y")
        .field("usage", 1.0)
        .field("up", True)
        .field("msg", 'he said "hi"')
        .time(t + 1000, WritePrecision.NS),
    ]
    with InfluxDBClient(url=live_server.url, token=issued.plaintext, org="any-org", timeout=10_000) as client:
        client.write_api(write_options=SYNCHRONOUS).write(bucket="any-bucket", record=points)
    assert read_points(org, "cpu", ["usage"], device="gw-1", tags={"core": "1"}) == {"usage": [(t, 7.25)]}
    assert read_points(org, "cpu", ["n"], device="gw-1", tags={"core": "0"}) == {"n": [(t, 3)]}
    assert read_points(org, "cpu", ["usage", "up", "msg"], device="gw 2,x=y") == {
        "usage": [(t + 1000, 1.0)],
        "up": [(t + 1000, True)],
        "msg": [(t + 1000, 'he said "hi"')],
    }
    assert set(Device.objects.filter(organization=org).values_list("name", flat=True)) == {"gw-1", "gw 2,x=y"}


def test_influxdb_client_sees_our_400_as_an_api_error(live_server: Any, org: Organization) -> None:
    from influxdb_client.rest import ApiException

    issued = accounts.api_key_issue(organization=org, name="k", scopes=[METRICS_WRITE])
    with (
        InfluxDBClient(url=live_server.url, token=issued.plaintext, org="o") as client,
        pytest.raises(ApiException) as caught,
    ):
        client.write_api(write_options=SYNCHRONOUS).write(bucket="b", record="cpu,device=d usage=12x")
    assert caught.value.status == 400
    assert 'line 1, column 20: invalid field value \\"12x\\"' in caught.value.body


def test_store_outage_is_503_and_a_retry_is_stored_exactly_once(
    influx_backend: Any, influx_server: Any, live_server: Any, org: Organization, read_points: Callable, settings: Any
) -> None:
    settings.INGEST_RETRY_AFTER_SECONDS = 7
    issued = accounts.api_key_issue(organization=org, name="k", scopes=[METRICS_WRITE])
    session = requests.Session()
    session.headers["Authorization"] = f"Token {issued.plaintext}"
    url = f"{live_server.url}/api/v2/write?precision=s"
    base = int(time.time()) - 100
    batch = "\n".join(f"disk,device=edge-9 used={i}i {base + i}" for i in range(50))
    assert session.post(url, data=f"disk,device=edge-9 used=-1i {base - 1}", timeout=15).status_code == 204

    influx_server.stop()
    try:
        down = session.post(url, data=batch, timeout=30)
        assert down.status_code == 503, down.content
        assert down.headers["Retry-After"] == "7"
        assert down.json() == {
            "code": "unavailable",
            "message": "the time-series store is unavailable; nothing was written, retry later",
            "retry_after": 7,
        }
        status = session.get(f"{live_server.url}/health/ready", timeout=30).json()
        assert status["checks"]["store"]["status"] == "error"
    finally:
        influx_server.start()

    assert session.post(url, data=batch, timeout=15).status_code == 204
    stored = read_points(org, "disk", ["used"], device="edge-9")["used"]
    assert stored == [((base - 1) * NS, -1)] + [((base + i) * NS, i) for i in range(50)]
    # A client that retries a batch it already got a 204 for does not double it either.
    assert session.post(url, data=batch, timeout=15).status_code == 204
    assert len(read_points(org, "disk", ["used"], device="edge-9")["used"]) == 51


def test_history_on_influx_backend(influx_backend: Any, live_server: Any, org: Organization, device: Device) -> None:
    issued = accounts.api_key_issue(organization=org, name="k", scopes=[METRICS_WRITE, METRICS_READ])
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    base = (int(time.time()) // 60 - 5) * 60
    body = "\n".join(f"edge,device=edge-01 cpu={v} {base + i * 30}" for i, v in enumerate([1, 3, 5, 7]))
    assert (
        requests.post(f"{live_server.url}/api/v2/write?precision=s", data=body, headers=headers, timeout=15).status_code
        == 204
    )
    start = datetime.fromtimestamp(base, UTC)
    params = {
        "device": "edge-01",
        "field": "cpu",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=2)).isoformat(),
        "step": "1m",
    }
    answer = requests.get(f"{live_server.url}/api/v1/history", params=params, headers=headers, timeout=15).json()
    assert [p[1] for p in answer["series"][0]["points"]] == [2.0, 6.0]
    status = requests.get(f"{live_server.url}/api/v1/status", headers=headers, timeout=15).json()
    assert status["store"]["backend"] == "influx" and status["store"]["status"] == "ok"
    assert get_store().name == "influx"


def test_history_parameters_cannot_escape_the_tenant_on_influx(
    influx_backend: Any, live_server: Any, org: Organization, other_org: Organization, device: Device
) -> None:
    theirs = accounts.api_key_issue(organization=other_org, name="k", scopes=[METRICS_WRITE]).plaintext
    ours = accounts.api_key_issue(organization=org, name="r", scopes=[METRICS_READ]).plaintext
    now = int(time.time()) - 10
    body = f"edge,device=edge-01 cpu=99 {now}"
    response = requests.post(
        f"{live_server.url}/api/v2/write?precision=s",
        data=body,
        headers={"Authorization": f"Token {theirs}"},
        timeout=15,
    )
    assert response.status_code == 204
    hostile = [
        {"measurement": 'edge" WHERE 1=1 --', "field": "cpu"},
        {"measurement": "edge", "field": 'cpu" FROM "edge'},
        {"measurement": "edge", "field": "cpu') OR ('1'='1"},
    ]
    for params in hostile:
        answer = requests.get(
            f"{live_server.url}/api/v1/history",
            params={"device": "edge-01", "start": "-5m", **params},
            headers={"Authorization": f"Bearer {ours}"},
            timeout=15,
        )
        assert answer.status_code == 200, answer.text
        assert all(not s["points"] for s in answer.json()["series"]), params
