"""The seed's gauge API: create, read, set, inc/dec/add/sub, delete, list; errors write nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from registry.models import Gauge, MetricType
from tests.registry.conftest import scrape

pytestmark = pytest.mark.django_db


def test_seed_table_round_trip(gauges: APIClient) -> None:
    created = gauges.post("/api/v1/gauges/uptime", data="metric server uptime", content_type="text/plain")
    assert created.status_code == 201, created.content
    assert created.json()["description"] == "metric server uptime"
    assert gauges.get("/api/v1/gauges/uptime").content == b"0.0"
    assert gauges.put("/api/v1/gauges/uptime", data="12.5", content_type="text/plain").status_code == 204
    assert gauges.put("/api/v1/gauges/uptime/inc").status_code == 204
    assert gauges.put("/api/v1/gauges/uptime/add", data="2.5", content_type="text/plain").status_code == 204
    assert gauges.put("/api/v1/gauges/uptime/sub", data="1", content_type="text/plain").status_code == 204
    assert gauges.put("/api/v1/gauges/uptime/dec").status_code == 204
    response = gauges.get("/api/v1/gauges/uptime")
    assert (response.status_code, response.content, response["Content-Type"]) == (
        200,
        b"14.0",
        "text/plain; charset=utf-8",
    )
    body = gauges.get("/api/v1/gauges/uptime", HTTP_ACCEPT="application/json").json()
    assert body["value"] == 14.0 and body["kind"] == "gauge" and body["updated_by"]
    assert gauges.delete("/api/v1/gauges/uptime").status_code == 204
    assert gauges.get("/api/v1/gauges/uptime").status_code == 404
    assert not Gauge.objects.exists()


def test_create_is_idempotent_and_409_on_another_description(gauges: APIClient) -> None:
    assert gauges.post("/api/v1/gauges/kills", data="kills", content_type="text/plain").status_code == 201
    again = gauges.post("/api/v1/gauges/kills", data="kills", content_type="text/plain")
    assert again.status_code == 200
    other = gauges.post("/api/v1/gauges/kills", data="something else", content_type="text/plain")
    assert other.status_code == 409
    assert other.json()["code"] == "conflict" and "'kills'" in other.json()["message"]
    assert list(Gauge.objects.values_list("description", flat=True)) == ["kills"]


def test_labels_are_identity(gauges: APIClient) -> None:
    body = {"description": "queue depth", "labels": {"queue": "mail", "region": "eu"}}
    assert gauges.post("/api/v1/gauges/queue_depth", data=body, format="json").status_code == 201
    assert (
        gauges.post("/api/v1/gauges/queue_depth?queue=sms", data="queue depth", content_type="text/plain").status_code
        == 201
    )
    assert (
        gauges.put("/api/v1/gauges/queue_depth?queue=mail&region=eu", data="7", content_type="text/plain").status_code
        == 204
    )
    assert gauges.put("/api/v1/gauges/queue_depth/inc?queue=sms").status_code == 204
    assert gauges.get("/api/v1/gauges/queue_depth?region=eu&queue=mail").content == b"7.0"
    assert gauges.get("/api/v1/gauges/queue_depth").status_code == 404  # the label-less one does not exist
    samples = scrape(gauges)
    assert samples[("queue_depth", (("queue", "mail"), ("region", "eu")))] == 7.0
    assert samples[("queue_depth", (("queue", "sms"),))] == 1.0
    listed = gauges.get("/api/v1/gauges/?name=queue").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(g["name"], g["labels"], g["value"]) for g in rows] == [
        ("queue_depth", {"queue": "mail", "region": "eu"}, 7.0),
        ("queue_depth", {"queue": "sms"}, 1.0),
    ]


def test_counter_refuses_decreases(gauges: APIClient) -> None:
    body = {"description": "jobs done", "kind": "counter"}
    assert gauges.post("/api/v1/gauges/jobs_total", data=body, format="json").status_code == 201
    assert gauges.put("/api/v1/gauges/jobs_total/add", data="5", content_type="text/plain").status_code == 204
    for method, path, data in [
        ("put", "/api/v1/gauges/jobs_total/dec", ""),
        ("put", "/api/v1/gauges/jobs_total/sub", "1"),
        ("put", "/api/v1/gauges/jobs_total/add", "-1"),
        ("put", "/api/v1/gauges/jobs_total", "4"),
    ]:
        response = getattr(gauges, method)(path, data=data, content_type="text/plain")
        assert response.status_code == 400, path
        assert "counter" in response.json()["message"]
    assert Gauge.objects.get().value == 5.0
    assert gauges.put("/api/v1/gauges/jobs_total", data="9", content_type="text/plain").status_code == 204


@pytest.mark.parametrize(
    "body", ["abc", "NaN", "inf", "-Infinity", "1e999", "", "1_000", '{"value": "3"}', "[1]", '{"value": true}']
)
def test_bad_values_change_nothing(gauges: APIClient, body: str) -> None:
    gauges.post("/api/v1/gauges/temp", data="t", content_type="text/plain")
    for path in ("/api/v1/gauges/temp", "/api/v1/gauges/temp/add", "/api/v1/gauges/temp/sub"):
        response = gauges.put(path, data=body, content_type="text/plain")
        assert response.status_code == 400, (path, body)
        assert response.json()["message"].startswith("body")
    assert Gauge.objects.get().value == 0.0


@pytest.mark.parametrize(
    "name", ["9lives", "bad-name", "a.b", "x" * 201, "push_time_seconds", "beacon_registry_gauges"]
)
def test_bad_names_are_400(gauges: APIClient, name: str) -> None:
    response = gauges.post(f"/api/v1/gauges/{name}", data="d", content_type="text/plain")
    assert response.status_code == 400, name
    assert gauges.get(f"/api/v1/gauges/{name}").status_code == 400
    assert not Gauge.objects.exists() and not MetricType.objects.exists()


def test_bad_labels_are_400(gauges: APIClient) -> None:
    assert gauges.post("/api/v1/gauges/g?__x=1", data="d", content_type="text/plain").status_code == 400
    assert gauges.post("/api/v1/gauges/g?a=1&a=2", data="d", content_type="text/plain").status_code == 400
    bomb = "&".join(f"l{i}=v" for i in range(40))
    response = gauges.post(f"/api/v1/gauges/g?{bomb}", data="d", content_type="text/plain")
    assert response.status_code == 400 and "REGISTRY_MAX_LABELS" in response.json()["message"]
    long = gauges.post("/api/v1/gauges/g", data={"labels": {"a": "x" * 2000}}, format="json")
    assert long.status_code == 400
    assert gauges.post("/api/v1/gauges/g", data=b"\xff\xfe", content_type="text/plain").status_code == 400
    huge = gauges.post("/api/v1/gauges/g", data="d" * 70_000, content_type="text/plain")
    assert huge.status_code == 413
    assert not Gauge.objects.exists()


def test_name_keeps_one_type(gauges: APIClient) -> None:
    assert gauges.post("/api/v1/gauges/reqs", data={"kind": "counter"}, format="json").status_code == 201
    clash = gauges.post("/api/v1/gauges/reqs?host=a", data={"kind": "gauge"}, format="json")
    assert clash.status_code == 409 and "already a counter" in clash.json()["message"]
    pushed = gauges.put("/metrics/job/j", data="# TYPE reqs gauge\nreqs 1\n", content_type="text/plain")
    assert pushed.status_code == 400 and "already a counter" in pushed.json()["message"]


def test_scopes_and_keys(
    org: Organization, issue_key: Callable[..., str], client_for: Callable[[str], APIClient], gauges: APIClient
) -> None:
    gauges.post("/api/v1/gauges/g", data="d", content_type="text/plain")
    reader = client_for(issue_key(org, ["gauges:read"]))
    assert reader.get("/api/v1/gauges/g").status_code == 200
    denied = reader.put("/api/v1/gauges/g/inc")
    assert denied.status_code == 403 and "gauges:write" in denied.json()["message"]
    assert reader.get("/metrics").status_code == 403
    assert APIClient().get("/api/v1/gauges/g").status_code == 401
    assert APIClient().put("/api/v1/gauges/g/inc").status_code == 401
    assert Gauge.objects.get().value == 0.0


def test_other_org_sees_404(
    other_org: Organization, issue_key: Callable[..., str], client_for: Callable[[str], APIClient], gauges: APIClient
) -> None:
    gauges.post("/api/v1/gauges/secret_gauge", data="d", content_type="text/plain")
    theirs = client_for(issue_key(other_org))
    assert theirs.get("/api/v1/gauges/secret_gauge").status_code == 404
    assert theirs.put("/api/v1/gauges/secret_gauge/inc").status_code == 404
    assert theirs.delete("/api/v1/gauges/secret_gauge").status_code == 404
    assert b"secret_gauge" not in theirs.get("/metrics").content
    assert theirs.get("/api/v1/gauges/").json() in ([], {"next": None, "previous": None, "results": []})
    assert Gauge.objects.get().value == 0.0
