"""Real headless Locust runs with the plugin against a live portal (gunicorn) and a loopback target.

Each run is a few seconds: standalone and `--processes 2` (a master and two forked workers). The run must be
registered, its stats series stored, and committed with exactly the request counts Locust itself prints in its
final `--json` output; a second run is compared with the pinned baseline, and one against a slower target fails
its p95_regression check with exit code 3; with the portal cut off mid-run Locust exits 0 and the run is later
abandoned.
"""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone

from accounts.models import Organization
from loadtests import histogram, services
from loadtests.models import LoadTestRun
from tests.loadtests.live import Target, locust_command, locust_env, run_locust
from tests.proxy import TcpProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def _by_endpoint(json_stats: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["name"], e["method"]): e for e in json_stats}


def _check_against_locust(run: LoadTestRun, json_stats: list[dict[str, Any]]) -> None:
    printed = _by_endpoint(json_stats)
    mine = {(r["name"], r["method"]): r for r in run.stats[1:]}
    assert set(mine) == set(printed)
    for key, entry in printed.items():
        assert (mine[key]["requests"], mine[key]["failures"]) == (entry["num_requests"], entry["num_failures"]), key
        buckets = {int(k): v for k, v in entry["response_times"].items()}
        timed = entry["num_requests"] - entry["num_none_requests"]
        assert mine[key]["p95"] == histogram.percentile(buckets, timed, 0.95), key
        assert mine[key]["response_times"] == {str(k): v for k, v in sorted(buckets.items())}
    assert run.requests == sum(e["num_requests"] for e in json_stats) > 0
    assert run.failures == sum(e["num_failures"] for e in json_stats)


def _series_points(portal_url: str, key: str, run: LoadTestRun) -> dict[str, int]:
    answer = requests.get(
        f"{portal_url}/api/v1/loadtests/{run.uuid}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {f"{s['method']} {s['name']}".strip(): len(s["time"]) for s in answer.json()["series"]}


@pytest.mark.parametrize("processes", [None, 2], ids=["standalone", "processes-2"])
def test_run_reported_with_locusts_own_counts(
    portal: str, target: Target, locustfile: Path, org: Organization, issue_key: Any, processes: int | None
) -> None:
    key = issue_key(org, ["loadtests:write", "metrics:read"])
    extra = ["--fail-some"] + (["--processes", str(processes)] if processes else [])
    result = run_locust(locust_command(locustfile, target.url, portal, key, *extra))
    assert result.code == 1, result.stderr[-3000:]  # Locust's own: some requests failed
    run = LoadTestRun.objects.get(organization=org)
    assert (run.state, run.plan, run.mode, run.exit_code, run.users) == (
        "completed",
        "shop",  # the locustfile's name
        "cluster" if processes else "single",
        1,
        4,
    )
    assert run.target_host == target.url and run.locust_version
    _check_against_locust(run, result.json_stats())
    assert run.failures > 0 and dict((r["name"], r["failures"]) for r in run.stats)["/broken"] == run.failures
    points = _series_points(portal, key, run)
    assert points["Aggregated"] >= 2 and points["GET /"] >= 2, points  # 4 s at one report a second
    assert f"/o/{org.slug}/loadtests/{run.uuid}/" in result.stderr  # the plugin's link to the run page


def test_baseline_comparison_and_regression_exit_code(
    portal: str, target: Target, locustfile: Path, org: Organization, issue_key: Any
) -> None:
    key = issue_key(org, ["loadtests:write", "metrics:read"])
    headers = {"Authorization": f"Bearer {key}"}
    first = run_locust(locust_command(locustfile, target.url, portal, key, "--beacon-plan", "shop-ci"))
    assert first.code == 0, first.stderr[-3000:]
    base = LoadTestRun.objects.get(organization=org)
    pinned = requests.post(f"{portal}/api/v1/loadtests/{base.uuid}/baseline", headers=headers, timeout=10)
    assert pinned.status_code == 200, pinned.text

    # Same target: compared with the baseline, checks pass (a loose regression bound), exit 0.
    second = run_locust(
        locust_command(
            locustfile, target.url, portal, key, "--beacon-plan", "shop-ci", "--beacon-check", "fail_ratio<0.01"
        )
    )
    assert second.code == 0, second.stderr[-3000:]
    run2 = LoadTestRun.objects.exclude(pk=base.pk).get(organization=org)
    assert run2.compared_to_id == base.pk and [c["passed"] for c in run2.checks] == [True]
    assert f"compared with baseline {base.uuid}" in second.stderr
    compared = requests.get(f"{portal}/api/v1/loadtests/{run2.uuid}/compare?to=baseline", headers=headers, timeout=10)
    assert compared.json()["endpoints"][0]["to"]["requests"] == base.requests

    # A target 500 ms slower on every request: p95 rises far more than 10 % (the baseline's p95 is a few ms, and
    # under a loaded CI machine at worst ~200 ms) → exit code 3, the run still completed.
    target.delay = 0.5
    third = run_locust(
        locust_command(
            locustfile,
            target.url,
            portal,
            key,
            "--beacon-plan",
            "shop-ci",
            "--beacon-check",
            "p95_regression<10%",
            "--processes",
            "2",
        )
    )
    assert third.code == 3, third.stderr[-3000:]
    run3 = LoadTestRun.objects.exclude(pk__in=[base.pk, run2.pk]).get(organization=org)
    assert run3.state == "completed" and run3.exit_code == 0  # Locust's own code, before the plugin's 3
    (check,) = run3.checks
    assert (check["check"], check["passed"]) == ("p95_regression<10%", False)
    assert check["actual"] > 100  # % slower
    assert run3.stats[0]["p95"] >= 500
    assert "p95_regression<10%: FAILED" in third.stderr
    _check_against_locust(run3, third.json_stats())


def test_portal_down_mid_run_locust_exits_0_run_abandoned(
    portal: str, target: Target, locustfile: Path, org: Organization, issue_key: Any, settings: Any
) -> None:
    key = issue_key(org, ["loadtests:write"])
    port = int(portal.rsplit(":", 1)[1])
    proxy = TcpProxy("127.0.0.1", port)
    proxied = f"http://127.0.0.1:{proxy.port}"
    try:
        command = locust_command(locustfile, target.url, proxied, key, run_time="6s")
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=locust_env(), start_new_session=True
        )
        deadline = time.monotonic() + 30
        while not LoadTestRun.objects.filter(organization=org).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        proxy.cut()  # the portal is gone for the rest of the run
        _, stderr = proc.communicate(timeout=90)
    finally:
        proxy.close()
    assert proc.returncode == 0, stderr[-3000:]
    assert "giving up, the load test is not affected" in stderr
    run = LoadTestRun.objects.get(organization=org)
    assert run.state == "running" and run.requests == 0  # never committed
    assert target.hits > 0
    settings.LOADTEST_ABANDON_AFTER = 60
    assert services.runs_abandon_stale(now=timezone.now() + timedelta(seconds=61)) == 1
    run.refresh_from_db()
    assert run.state == "abandoned" and run.ended_at == run.last_report_at
