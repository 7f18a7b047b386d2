"""GET /api/v1/history: values, auto step, relative times, parameter errors, tenant isolation, hostile tags."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from devices import services as device_services
from devices.models import Device
from ingest.lineprotocol import format_line
from ingest.scopes import METRICS_READ, METRICS_WRITE
from portal.api.timeparams import NICE_STEPS, auto_step, bucket_count

pytestmark = pytest.mark.django_db

NS = 1_000_000_000


def write(api: APIClient, lines: list[str]) -> None:
    response = api.post("/api/v2/write?precision=s", data="\n".join(lines).encode(), content_type="text/plain")
    assert response.status_code == 204, response.content


def history(api: APIClient, **params: Any) -> Any:
    return api.get("/api/v1/history", params)


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def test_history_buckets_and_aggregates(api: APIClient, device: Device) -> None:
    base = (int(time.time()) // 60 - 10) * 60  # ten minutes ago, on a minute boundary
    write(api, [f"edge,device=edge-01 cpu={v},mem={v * 10} {base + i * 20}" for i, v in enumerate([1, 2, 3, 4, 5, 6])])
    response = history(api, device="edge-01", field=["cpu", "mem"], start=iso(base), end=iso(base + 120), step="1m")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["step_seconds"] == 60 and body["agg"] == "mean" and body["measurement"] == "edge"
    series = {s["field"]: s["points"] for s in body["series"]}
    assert series["cpu"] == [[iso(base), 2.0], [iso(base + 60), 5.0]]
    assert series["mem"] == [[iso(base), 20.0], [iso(base + 60), 50.0]]
    maxed = history(api, device="edge-01", field="cpu", start=iso(base), end=iso(base + 120), step="60s", agg="max")
    assert maxed.json()["series"][0]["points"] == [[iso(base), 3.0], [iso(base + 60), 6.0]]


def test_relative_defaults_and_auto_step(api: APIClient, device: Device) -> None:
    now = int(time.time())
    write(api, [f"edge,device=edge-01 cpu=1 {now - 30}", f"edge,device=edge-01 cpu=3 {now - 7200}"])
    default = history(api, device="edge-01", field="cpu").json()  # last hour
    assert default["step_seconds"] == 5  # 3600 s / 1000 points → the next nice step
    assert [p[1] for p in default["series"][0]["points"]] == [1.0]
    end = datetime.fromisoformat(default["end"].replace("Z", "+00:00"))
    start = datetime.fromisoformat(default["start"].replace("Z", "+00:00"))
    assert end - start == timedelta(hours=1)
    day = history(api, device="edge-01", field="cpu", start="-24h", end="now").json()
    assert day["step_seconds"] == 120
    assert sorted(p[1] for p in day["series"][0]["points"]) == [1.0, 3.0]
    window = history(api, device="edge-01", field="cpu", start="-3h", end="-1h", step="1h").json()
    assert [p[1] for p in window["series"][0]["points"]] == [3.0]


def test_auto_step_never_exceeds_the_point_cap() -> None:
    start = datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)
    for span in (timedelta(minutes=1), timedelta(hours=1), timedelta(days=1), timedelta(days=30), timedelta(days=3650)):
        step = auto_step(start, start + span, 1000)
        assert bucket_count(start, start + span, step) <= 1000
        smaller = [s for s in NICE_STEPS if s < step.total_seconds()]
        if smaller and step.total_seconds() in NICE_STEPS:  # and the next smaller nice step would not fit
            assert bucket_count(start, start + span, timedelta(seconds=smaller[-1])) > 1000


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"field": "cpu"}, "parameter 'device'"),
        ({"device": "edge-01"}, "parameter 'field'"),
        ({"device": "edge-01", "field": "cpu", "start": "yesterday"}, "parameter 'start': 'yesterday' is not a time"),
        ({"device": "edge-01", "field": "cpu", "end": "-5x"}, "parameter 'end'"),
        ({"device": "edge-01", "field": "cpu", "start": "now", "end": "-1h"}, "parameter 'start': 'now' is not before"),
        ({"device": "edge-01", "field": "cpu", "step": "fast"}, "parameter 'step': 'fast'"),
        ({"device": "edge-01", "field": "cpu", "step": "1s", "start": "-24h"}, "parameter 'step': '1s' gives"),
        ({"device": "edge-01", "field": "cpu", "agg": "median"}, "parameter 'agg'"),
    ],
)
def test_bad_parameters_are_named(api: APIClient, device: Device, params: dict[str, str], message: str) -> None:
    response = history(api, **params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert message in response.json()["message"]


def test_tenant_isolation(
    org: Organization, other_org: Organization, device: Device, issue_key: Callable, client_for: Callable
) -> None:
    ours = client_for(issue_key(org))
    theirs = client_for(issue_key(other_org))
    device_services.device_create(organization=other_org, name="edge-01")  # same name, other tenant
    now = int(time.time())
    write(ours, [f"edge,device=edge-01 cpu=11 {now - 10}"])
    write(theirs, [f"edge,device=edge-01 cpu=99 {now - 10}"])
    mine = history(ours, device="edge-01", field="cpu", step="1m").json()
    assert [p[1] for p in mine["series"][0]["points"]] == [11.0]
    other = history(theirs, device="edge-01", field="cpu", step="1m").json()
    assert [p[1] for p in other["series"][0]["points"]] == [99.0]
    only_ours = device_services.device_create(organization=org, name="ours-only")
    response = history(theirs, device=only_ours.name, field="cpu")
    assert response.status_code == 404
    assert response.json()["message"] == "device 'ours-only' not found in this organization"


def test_device_bound_key_reads_only_its_device(
    org: Organization, device: Device, issue_key: Callable, client_for: Callable
) -> None:
    device_services.device_create(organization=org, name="edge-02")
    client = client_for(issue_key(org, [METRICS_READ], device=device))
    assert history(client, device="edge-01", field="cpu").status_code == 200
    assert history(client, device="edge-02", field="cpu").status_code == 404


def test_write_only_key_cannot_read(
    org: Organization, device: Device, issue_key: Callable, client_for: Callable
) -> None:
    response = history(client_for(issue_key(org, [METRICS_WRITE])), device="edge-01", field="cpu")
    assert response.status_code == 403


@pytest.mark.parametrize("value", ["a,b=c d", "quote\"s and 'single'", "back\\slash", "ünïcödé ✓ 日本", "x=y", " lead"])
def test_hostile_tag_values_round_trip_through_line_protocol(api: APIClient, device: Device, value: str) -> None:
    now = int(time.time()) - 5
    line = format_line("edge", {"device": "edge-01", "site": value}, {"cpu": 42.5}, now)
    write(api, [line])
    ok = history(api, device="edge-01", field="cpu", step="1m").json()
    assert [p[1] for p in ok["series"][0]["points"]] == [42.5]
    # Query the store with the exact value: it was stored byte for byte.
    from timeseries import get_store

    start = datetime.now(UTC) - timedelta(minutes=5)
    series = get_store().query(
        tenant=str(device.organization_id),
        measurement="edge",
        fields=["cpu"],
        tags={"site": value},
        start=start,
        end=datetime.now(UTC) + timedelta(minutes=1),
        group_by=["site"],
    )
    assert [(s.tags, [v for _, v in s.points]) for s in series] == [({"site": value}, [42.5])]


def test_status_reports_store_backend_health_and_latency(api: APIClient, device: Device) -> None:
    body = api.get("/api/v1/status").json()
    assert body["store"]["backend"] == "sql"
    assert body["store"]["status"] == "ok"
    assert 0 <= body["store"]["latency_ms"] < 5000
    assert "store" not in body["checks"]
    assert body["devices"]["unseen"] == 1


def test_openapi_schema_documents_the_ingest_endpoints(client: Any) -> None:
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert {"/api/v1/metrics", "/api/v2/write", "/api/v1/history"} <= set(schema["paths"])
    write = schema["paths"]["/api/v2/write"]["post"]
    assert {p["name"] for p in write["parameters"]} == {"bucket", "org", "precision"}
    assert {"204", "400", "413", "429", "503"} <= set(write["responses"])
    operation = schema["paths"]["/api/v1/history"]["get"]
    history_params = {p["name"]: p for p in operation["parameters"]}
    assert set(history_params) == {"device", "measurement", "field", "start", "end", "step", "agg", "group_by"}
    assert history_params["group_by"]["schema"] == {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "maxItems": 3,
    }
    assert "`tag.<name>=<value>`" in operation["description"]
    series_tags = schema["components"]["schemas"]["HistorySeries"]["properties"]["tags"]
    assert "group_by" in series_tags["description"]
