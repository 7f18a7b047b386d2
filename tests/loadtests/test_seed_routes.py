"""The seed's /apiv0.1/events/... routes with the seed's exact payload shapes (metrics-consumer's README)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Organization
from loadtests.models import LoadTestRun

pytestmark = pytest.mark.django_db

REGISTER = {
    "startedAt": "2026-12-03T09:00:00.000Z",
    "host": "locust-master-1",
    "measurement": {
        "fields": {"clients": 50, "hatchRate": 0.1, "requests": 0},
        "tags": {"targetHost": "http:10.10.10.1", "mode": "cluster"},
    },
}
# requestStats as the seed's customized Locust sends it: Locust's web-UI /stats/requests object.
REQUEST_STATS = {
    "stats": [
        {
            "method": "GET",
            "name": "/",
            "num_requests": 120,
            "num_failures": 3,
            "median_response_time": 45,
            "avg_response_time": 52.5,
            "min_response_time": 8,
            "max_response_time": 900,
            "current_rps": 11.5,
            "response_time_percentile_0.95": 150,
            "response_time_percentile_0.99": 600,
        },
        {
            "method": "POST",
            "name": "/login",
            "num_requests": 30,
            "num_failures": 0,
            "median_response_time": 80,
            "avg_response_time": 85.0,
            "min_response_time": 40,
            "max_response_time": 200,
            "current_rps": 2.5,
        },
        {
            "method": None,
            "name": "Total",
            "num_requests": 150,
            "num_failures": 3,
            "median_response_time": 50,
            "avg_response_time": 59.0,
            "min_response_time": 8,
            "max_response_time": 900,
            "current_rps": 14.0,
        },
    ],
    "errors": [{"method": "GET", "name": "/", "error": "HTTPError('500 Server Error')", "occurrences": 3}],
    "total_rps": 14.0,
    "fail_ratio": 0.02,
    "user_count": 50,
    "state": "stopped",
}


def test_register_isrunning_commit(org: Organization, writer: Any) -> None:
    registered = writer.post("/apiv0.1/events/register", REGISTER, format="json")
    assert registered.status_code == 200, registered.content
    uuid = registered.json()["uuid"]
    assert list(registered.json()) == ["uuid"]
    run = LoadTestRun.objects.get(uuid=uuid)
    assert (run.organization, run.plan, run.mode, run.users, run.spawn_rate, run.target_host, run.host) == (
        org,
        "seed",
        "cluster",
        50,
        0.1,
        "http:10.10.10.1",
        "locust-master-1",
    )
    assert run.started_at.isoformat() == "2026-12-03T09:00:00+00:00"
    assert writer.get("/apiv0.1/events/isrunning").json() == {uuid: True}

    body = {
        "startedAt": "2026-12-03T09:10:00.000Z",
        "uuid": uuid,
        "host": "locust-master-1",
        "measurement": {
            "fields": {"requestStats": REQUEST_STATS},
            "tags": {"hostname": "http:10.10.10.1", "mode": "cluster"},
        },
    }
    committed = writer.post("/apiv0.1/events/commit", body, format="json")
    assert committed.status_code == 200, committed.content
    assert committed.json() == {"uuid": uuid, "state": "completed"}
    run.refresh_from_db()
    assert run.raw_stats == REQUEST_STATS  # stored as given
    assert (run.requests, run.failures, run.ended_at.isoformat()) == (150, 3, "2026-12-03T09:10:00+00:00")
    rows = {
        (r["name"], r["method"]): (r["requests"], r["failures"], r["p50"], r["p95"], r["p99"], r["rps"])
        for r in run.stats
    }
    assert rows == {
        ("Aggregated", ""): (150, 3, 50, None, None, 14.0),
        ("/", "GET"): (120, 3, 45, 150, 600, 11.5),
        ("/login", "POST"): (30, 0, 80, None, None, 2.5),
    }
    assert writer.get("/apiv0.1/events/isrunning").json() == {}
    again = writer.post("/apiv0.1/events/commit", body, format="json")
    assert again.status_code == 409
    run.refresh_from_db()
    assert run.requests == 150


def test_plan_from_a_tag_and_epoch_start(writer: Any) -> None:
    body = {**REGISTER, "startedAt": 1764752400000}
    body["measurement"] = {
        "fields": {"clients": 1, "hatchRate": 1},
        "tags": {"targetHost": "x", "mode": "single", "plan": "nightly"},
    }
    uuid = writer.post("/apiv0.1/events/register", body, format="json").json()["uuid"]
    run = LoadTestRun.objects.get(uuid=uuid)
    assert (run.plan, run.started_at.isoformat()) == ("nightly", "2025-12-03T09:00:00+00:00")


def test_isrunning_is_per_organization(
    org: Organization, other_org: Organization, writer: Any, issue_key: Any, client_for: Any
) -> None:
    theirs = client_for(issue_key(other_org, ["loadtests:write"]))
    assert theirs.post("/apiv0.1/events/register", REGISTER, format="json").status_code == 200
    mine = writer.post("/apiv0.1/events/register", REGISTER, format="json").json()["uuid"]
    assert writer.get("/apiv0.1/events/isrunning").json() == {mine: True}
    reader = client_for(issue_key(org, ["metrics:read"]))
    assert reader.get("/apiv0.1/events/isrunning").json() == {mine: True}
    assert client_for(issue_key(org, ["metrics:write"])).get("/apiv0.1/events/isrunning").status_code == 403
    # Committing another org's uuid is a 404 and changes nothing.
    their_run = LoadTestRun.objects.get(organization=other_org)
    body = {"uuid": str(their_run.uuid), "measurement": {"fields": {"requestStats": {}}}}
    assert writer.post("/apiv0.1/events/commit", body, format="json").status_code == 404
    their_run.refresh_from_db()
    assert their_run.state == "running"
