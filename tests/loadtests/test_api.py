"""The load-test API: register, stats → time series, commit (once), reads, baseline and comparison, checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Organization
from loadtests import services
from loadtests.models import LoadTestRun
from tests.loadtests.conftest import commit, entry, register
from timeseries import get_store

pytestmark = pytest.mark.django_db


def stored(org: Organization, run: str, field: str) -> dict[tuple[str, str], list[Any]]:
    results = get_store().query(
        tenant=str(org.id),
        measurement="locust",
        fields=[field],
        start=timezone.now() - timedelta(hours=1),
        end=timezone.now() + timedelta(hours=1),
        tags={"run": run},
        group_by=["name", "method"],
    )
    return {(r.tags["name"], r.tags["method"]): [v for _, v in r.points] for r in results}


def test_register_stats_commit_read(org: Organization, writer: Any, reader: Any) -> None:
    run = register(writer, plan="checkout", target_host="http://shop", users=10, spawn_rate=2, tags={"git": "abc"})
    created = LoadTestRun.objects.get(uuid=run)
    assert (created.organization, created.state, created.plan, created.users, created.tags) == (
        org,
        "running",
        "checkout",
        10,
        {"git": "abc"},
    )
    body = {
        "interval": 2.0,
        "users": 10,
        "entries": [entry("/", "GET", {10: 18, 30: 2}, failures=2), entry("/cart", "POST", {100: 4})],
    }
    assert writer.post(f"/api/v1/loadtests/{run}/stats", body, format="json").status_code == 204
    rps = stored(org, run, "rps")
    assert rps == {("/", "GET"): [10.0], ("/cart", "POST"): [2.0], ("Aggregated", ""): [12.0]}
    assert stored(org, run, "fail_rps")[("/", "GET")] == [1.0]
    assert stored(org, run, "p95") == {("/", "GET"): [30.0], ("/cart", "POST"): [100.0], ("Aggregated", ""): [100.0]}
    assert stored(org, run, "users") == {("Aggregated", ""): [10.0]}

    final = [entry("/", "GET", {10: 90, 30: 10}, failures=3), entry("/cart", "POST", {100: 20, 200: 5})]
    answer = commit(writer, run, final, exit_code=1)
    assert answer.status_code == 200, answer.content
    assert answer.json()["requests"] == 125 and answer.json()["failures"] == 3
    assert answer.json()["url"].endswith(f"/o/{org.slug}/loadtests/{run}/")

    detail = reader.get(f"/api/v1/loadtests/{run}").json()
    assert (detail["state"], detail["requests"], detail["failures"], detail["exit_code"]) == ("completed", 125, 3, 1)
    assert [(s["name"], s["method"], s["requests"], s["p50"], s["p95"], s["p99"]) for s in detail["stats"]] == [
        ("Aggregated", "", 125, 10, 100, 200),
        ("/", "GET", 100, 10, 30, 30),
        ("/cart", "POST", 25, 100, 200, 200),
    ]
    assert detail["stats"][0]["rps"] == 12.5  # 125 requests over the entries' 10 s
    aggregated = next(s for s in detail["series"] if s["name"] == "Aggregated")
    assert aggregated["rps"] == [12.0] and aggregated["users"] == [10.0]

    again = commit(writer, run, [entry("/", "GET", {10: 1})])
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert LoadTestRun.objects.get(uuid=run).requests == 125  # unchanged
    assert writer.post(f"/api/v1/loadtests/{run}/stats", body, format="json").status_code == 409

    listed = reader.get("/api/v1/loadtests/?state=completed&plan=checkout").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["uuid"] for r in rows] == [run]
    assert reader.get("/api/v1/loadtests/?state=running").json() in ([], {"results": []}) or not (
        reader.get("/api/v1/loadtests/?state=running").json().get("results")
    )


def test_scopes(org: Organization, writer: Any, reader: Any) -> None:
    assert reader.post("/api/v1/loadtests/", {}, format="json").status_code == 403  # metrics:read cannot write
    run = register(writer)
    assert writer.get(f"/api/v1/loadtests/{run}").status_code == 403  # loadtests:write alone cannot read
    assert reader.get(f"/api/v1/loadtests/{run}").status_code == 200


def test_other_orgs_run_is_404(
    other_org: Organization, org: Organization, writer: Any, issue_key: Any, client_for: Any
) -> None:
    theirs = register(client_for(issue_key(other_org, ["loadtests:write"])))
    for method, path in [
        ("get", f"/api/v1/loadtests/{theirs}"),
        ("get", f"/api/v1/loadtests/{theirs}/compare"),
        ("post", f"/api/v1/loadtests/{theirs}/commit"),
        ("post", f"/api/v1/loadtests/{theirs}/stats"),
        ("post", f"/api/v1/loadtests/{theirs}/baseline"),
    ]:
        client = client_for(issue_key(org))
        response = getattr(client, method)(path, {"entries": [], "interval": 1}, format="json")
        assert response.status_code == 404, (path, response.content)
    assert LoadTestRun.objects.get(uuid=theirs).state == "running"


def _completed(writer: Any, plan: str, histogram: dict[int, int], checks: list[str] | None = None) -> tuple[str, Any]:
    run = register(writer, plan=plan, checks=checks or [])
    answer = commit(writer, run, [entry("/", "GET", histogram)], exit_code=0)
    assert answer.status_code == 200, answer.content
    return run, answer.json()


def test_baseline_compare_and_regression_check(org: Organization, writer: Any, reader: Any) -> None:
    base, _ = _completed(writer, "api", {10: 90, 20: 10})
    pinned = writer.post(f"/api/v1/loadtests/{base}/baseline")
    assert pinned.status_code == 200 and pinned.json()["is_baseline"] is True
    # The next run is 50 % slower at p95 (30 vs 20 ms): p95_regression<10% fails; p95<300 passes.
    slow, answer = _completed(writer, "api", {10: 80, 30: 20}, checks=["p95<300", "p95_regression<10%"])
    assert answer["failed_checks"] == ["p95_regression<10%"]
    assert answer["compared_to"] == base
    results = {c["check"]: (c["passed"], c["actual"]) for c in answer["checks"]}
    assert results == {"p95<300": (True, 30), "p95_regression<10%": (False, 50.0)}
    assert LoadTestRun.objects.get(uuid=slow).state == "completed"  # completed either way

    compared = reader.get(f"/api/v1/loadtests/{slow}/compare?to=baseline").json()
    total = compared["endpoints"][0]
    assert (compared["to"], total["name"], total["run"]["p95"], total["to"]["p95"]) == (base, "Aggregated", 30, 20)
    assert total["change_pct"]["p95"] == 50.0 and total["change_pct"]["requests"] == 0.0
    assert compared["verdict"]["passed"] is False
    by_uuid = reader.get(f"/api/v1/loadtests/{slow}/compare?to={base}").json()
    assert by_uuid["endpoints"] == compared["endpoints"]

    # One baseline per plan: pinning another unpins the first.
    assert writer.post(f"/api/v1/loadtests/{slow}/baseline").status_code == 200
    assert list(LoadTestRun.objects.filter(plan="api", is_baseline=True).values_list("uuid", flat=True)) == [
        LoadTestRun.objects.get(uuid=slow).uuid
    ]
    other_plan, _ = _completed(writer, "web", {10: 1})
    refused = reader.get(f"/api/v1/loadtests/{slow}/compare?to={other_plan}")
    assert refused.status_code == 400 and "only within a plan" in refused.json()["message"]
    assert reader.get(f"/api/v1/loadtests/{other_plan}/compare").status_code == 404  # no baseline for "web"


def test_baseline_keeps_its_series_in_the_database(org: Organization, writer: Any, reader: Any) -> None:
    run = register(writer, plan="keep")
    for _ in range(3):
        body = {"interval": 1.0, "users": 5, "entries": [entry("/", "GET", {10: 5})]}
        assert writer.post(f"/api/v1/loadtests/{run}/stats", body, format="json").status_code == 204
    commit(writer, run, [entry("/", "GET", {10: 15})])
    assert writer.post(f"/api/v1/loadtests/{run}/baseline").status_code == 200
    copy = LoadTestRun.objects.get(uuid=run).baseline_series
    assert [(s["name"], s["rps"]) for s in copy] == [("Aggregated", [5.0]), ("/", [5.0])]  # one 10 s bucket
    from timeseries.models import Series

    Series.objects.filter(tenant=str(org.id)).delete()  # retention took the points
    assert reader.get(f"/api/v1/loadtests/{run}").json()["series"] == copy


def test_only_a_completed_run_is_a_baseline(writer: Any) -> None:
    run = register(writer)
    response = writer.post(f"/api/v1/loadtests/{run}/baseline")
    assert response.status_code == 409 and "completed" in response.json()["message"]


def test_abandoned_after_silence(org: Organization, writer: Any, settings: Any) -> None:
    settings.LOADTEST_ABANDON_AFTER = 60
    quiet, talking = register(writer), register(writer)
    LoadTestRun.objects.filter(uuid=quiet).update(last_report_at=timezone.now() - timedelta(seconds=61))
    assert services.runs_abandon_stale() == 1
    states = dict(LoadTestRun.objects.values_list("uuid", "state"))
    assert {str(k): v for k, v in states.items()} == {quiet: "abandoned", talking: "running"}
    # A late commit still completes it (the portal was away, Locust was not).
    assert commit(writer, quiet, [entry("/", "GET", {5: 1})]).status_code == 200
    assert LoadTestRun.objects.get(uuid=quiet).state == "completed"
    assert "loadtests.abandon_stale" in [t["task"] for t in settings.PERIODIC_TASKS.values()]


def test_commit_takes_locusts_json_output(writer: Any) -> None:
    run = register(writer)
    as_printed = [entry("/", "GET", {12: 3}, num_reqs_per_sec={"1760000000": 3}, num_fail_per_sec={})]
    response = writer.post(f"/api/v1/loadtests/{run}/commit", as_printed, format="json")
    assert response.status_code == 200 and response.json()["requests"] == 3
