"""Hostile load-test payloads (issue 15): a clear 4xx saying what and where, and nothing written."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from accounts.models import Organization
from loadtests.models import LoadTestRun
from tests.loadtests.conftest import entry, register
from timeseries.models import DataPoint

pytestmark = pytest.mark.django_db


def _nothing_written(org: Organization, run: str | None = None) -> None:
    assert DataPoint.objects.filter(series__tenant=str(org.id)).count() == 0
    if run:
        found = LoadTestRun.objects.get(uuid=run)
        assert (found.state, found.stats, found.requests) == ("running", [], 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan": "../etc"}, "plan"),
        ({"plan": "x" * 101}, "plan"),
        ({"users": -1}, "users"),
        ({"spawn_rate": "fast"}, "spawn_rate"),
        ({"mode": "swarm"}, "mode"),
        ({"tags": {"a": "b\nc"}}, "tags"),
        ({"tags": ["a"]}, "tags"),
        ({"target_host": "x" * 501}, "target_host"),
        ({"checks": ["p95<"]}, None),
        ({"checks": ["p42<3"]}, None),
        ({"checks": ["p95<10%"]}, None),
    ],
)
def test_register_refuses(org: Organization, writer: Any, body: dict[str, Any], field: str | None) -> None:
    response = writer.post("/api/v1/loadtests/", body, format="json")
    assert response.status_code == 400, response.content
    answer = response.json()
    if field:
        assert field in answer["detail"], answer
    else:
        assert "checks" in answer["message"] and "item 0" in answer["message"], answer
    assert not LoadTestRun.objects.exists()


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"response_times": {"fast": 1}}, "response_times"),
        ({"response_times": {"10": -1}}, "response_times"),
        ({"response_times": {"10": 1.5}}, "response_times"),
        ({"response_times": {"1e300": 1}}, "response_times"),
        ({"response_times": {"10": 99}}, "response_times"),  # more than num_requests
        ({"num_requests": -3}, "num_requests"),
        ({"num_requests": True}, "num_requests"),
        ({"name": ""}, "name"),
        ({"name": "a\\"}, "name"),
        ({"name": "x" * 257}, "name"),
        ({"method": "GET\n"}, "method"),
    ],
)
def test_stats_and_commit_refuse_bad_entries(org: Organization, writer: Any, bad: dict[str, Any], where: str) -> None:
    run = register(writer)
    good = entry("/ok", "GET", {10: 2})
    broken = {**entry("/", "GET", {10: 2}), **bad}
    for path, body in [
        (f"/api/v1/loadtests/{run}/stats", {"interval": 1, "entries": [good, broken]}),
        (f"/api/v1/loadtests/{run}/commit", {"entries": [good, broken]}),
    ]:
        response = writer.post(path, body, format="json")
        assert response.status_code == 400, (path, response.content)
        detail = response.json()["detail"]["entries"]
        assert "1" in detail and where in str(detail["1"]), detail  # the second entry, and its field
    _nothing_written(org, run)


def test_bodies_that_are_not_json_objects(org: Organization, writer: Any) -> None:
    run = register(writer)
    cases = [
        (b"not json", "application/json", 400, "not valid JSON"),
        (b'{"interval": NaN, "entries": []}', "application/json", 400, "NaN"),
        (b"[1, 2]", "application/json", 400, "JSON object"),
        (b'"text"', "application/json", 400, "JSON object"),
        (b"\xff\xfe", "application/json", 400, "UTF-8"),
        (b"interval=1", "application/x-www-form-urlencoded", 415, "application/json"),
    ]
    for raw, content_type, status, says in cases:
        response = writer.post(f"/api/v1/loadtests/{run}/stats", raw, content_type=content_type)
        assert response.status_code == status, (raw, response.content)
        assert says in response.json()["message"], response.json()
    duplicate = {"interval": 1, "entries": [entry("/", "GET", {1: 1}), entry("/", "GET", {1: 1})]}
    response = writer.post(f"/api/v1/loadtests/{run}/stats", duplicate, format="json")
    assert response.status_code == 400 and "appears twice" in str(response.json()["detail"])
    assert (
        writer.post(f"/api/v1/loadtests/{run}/stats", {"interval": 0, "entries": []}, format="json").status_code == 400
    )
    _nothing_written(org, run)


def test_oversized_and_gzip_bomb(org: Organization, writer: Any, settings: Any) -> None:
    settings.LOADTEST_MAX_BODY_BYTES = 2048
    run = register(writer)
    big = b'{"interval": 1, "entries": [], "pad": "' + b"x" * 4000 + b'"}'
    response = writer.post(f"/api/v1/loadtests/{run}/stats", big, content_type="application/json")
    assert response.status_code == 413 and "LOADTEST_MAX_BODY_BYTES" in response.json()["message"]
    bomb = gzip.compress(b'{"interval": 1, "entries": [], "pad": "' + b"x" * 100_000 + b'"}')
    assert len(bomb) < 2048
    response = writer.post(
        f"/api/v1/loadtests/{run}/stats", bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )
    assert response.status_code == 413, response.content
    _nothing_written(org, run)


def test_seed_routes_refuse(org: Organization, writer: Any) -> None:
    bad_register = [
        {"measurement": {"fields": {"clients": -5}}},
        {"measurement": {"tags": {"mode": "swarm"}}},
        {"startedAt": "yesterday", "measurement": {}},
        {},
    ]
    for body in bad_register:
        response = writer.post("/apiv0.1/events/register", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["detail"], response.json()
    assert not LoadTestRun.objects.exists()
    uuid = writer.post("/apiv0.1/events/register", {"measurement": {}}, format="json").json()["uuid"]
    for stats in ("a string", 42, None):
        body = {"uuid": uuid, "measurement": {"fields": {"requestStats": stats}}}
        response = writer.post("/apiv0.1/events/commit", body, format="json")
        assert response.status_code == 400 and "requestStats" in str(response.json()["detail"]), response.content
    response = writer.post(
        "/apiv0.1/events/commit", {"uuid": "not-a-uuid", "measurement": {"fields": {"requestStats": {}}}}, format="json"
    )
    assert response.status_code == 400 and "uuid" in response.json()["detail"]
    _nothing_written(org, uuid)
