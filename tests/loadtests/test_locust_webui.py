"""Locust's web-UI mode (no --headless), master + 2 workers: each Start is a new run, committed after Stop once the
workers' last stats are in, with the counts Locust's own /stats/requests shows; SIGTERM ends Locust with code 0.
A Start soon after a Stop (before that run's commit) commits the stopped run from its own stats, not the cleared
ones, and the stopped run's delayed commit leaves the new run alone."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts.models import Organization
from loadtests.models import LoadTestRun
from tests.loadtests.live import LOCUST, Target, free_port, locust_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]
# beacon_client.locust.WORKER_REPORT_WAIT (not imported: importing Locust would monkey-patch this process)
WORKER_REPORT_WAIT = 3.5


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _ui_up(url: str) -> bool:
    try:
        return requests.get(f"{url}/stats/requests", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextlib.contextmanager
def _locust_web_ui(locustfile: Path, target: Target, portal: str, key: str, log_path: Path) -> Iterator[str]:
    """A Locust master with its web UI and 2 workers, reporting to `portal`; yields the UI's URL, SIGTERMs it
    on a clean exit (asserting code 0)."""
    port, master = free_port(), str(free_port())
    ui = f"http://127.0.0.1:{port}"
    command = [str(LOCUST), "-f", str(locustfile), "--web-host", "127.0.0.1", "--web-port", str(port),
               "--processes", "2", "--master-bind-port", master, "--master-port", master, "--host", target.url,
               "--beacon-url", portal, "--beacon-key", key, "--beacon-interval", "1"]  # fmt: skip
    log = log_path.open("w")
    # Its own session: the forked workers are killed with the master if the test fails half-way.
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=locust_env(), start_new_session=True)
    try:
        _wait(lambda: _ui_up(ui), 30, "Locust's web UI")
        _wait(lambda: requests.get(f"{ui}/worker-count", timeout=2).json().get("worker_count") == 2, 30, "2 workers")
        yield ui
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group of the Locust started above (master and workers)
        proc.wait()
        log.close()


def _start(ui: str, target: Target) -> None:
    answer = requests.post(f"{ui}/swarm", data={"user_count": 4, "spawn_rate": 4, "host": target.url}, timeout=5)
    assert answer.json()["success"], answer.text


def _stop(ui: str) -> None:
    # POST since Locust 2.47; it answers once the workers' users have stopped (after the master's test_stop).
    assert requests.post(f"{ui}/stop", timeout=10).json()["success"]


def _running(org: Organization, *, besides: list[int]) -> LoadTestRun:
    runs = LoadTestRun.objects.filter(organization=org, state="running").exclude(pk__in=besides)
    return _wait(runs.first, 20, "registration")


def _shown_total(ui: str) -> int:
    """The Aggregated request count of Locust's own /stats/requests (cached 2 s by Locust: wait that out first)."""
    shown = requests.get(f"{ui}/stats/requests", timeout=5).json()
    return int(next(s for s in shown["stats"] if s["name"] == "Aggregated")["num_requests"])


def test_each_start_is_a_run_committed_after_stop(
    portal: str, target: Target, locustfile: Path, org: Organization, issue_key: Any, tmp_path: Path
) -> None:
    key = issue_key(org, ["loadtests:write"])
    with _locust_web_ui(locustfile, target, portal, key, tmp_path / "locust.log") as ui:
        committed: list[int] = []
        for round_ in range(2):
            _start(ui, target)
            _running(org, besides=committed)
            time.sleep(3)
            _stop(ui)
            run = _wait(
                lambda: (
                    LoadTestRun.objects.filter(organization=org, state="completed").exclude(pk__in=committed).first()
                ),
                30,
                f"run {round_} committed",
            )
            committed.append(run.pk)
            time.sleep(2.5)  # past the UI's stats cache
            total = _shown_total(ui)
            assert run.requests == total > 0, (run.requests, total)
            assert run.mode == "cluster"
    runs = LoadTestRun.objects.filter(organization=org)
    assert runs.count() == 2 and set(runs.values_list("state", flat=True)) == {"completed"}


def test_start_soon_after_stop_commits_the_stopped_run_from_its_own_stats(
    portal: str, target: Target, locustfile: Path, org: Organization, issue_key: Any, tmp_path: Path
) -> None:
    key = issue_key(org, ["loadtests:write"])
    with _locust_web_ui(locustfile, target, portal, key, tmp_path / "locust.log") as ui:
        _start(ui, target)
        first = _running(org, besides=[])
        time.sleep(3)
        _stop(ui)
        stopped_at = time.monotonic()
        time.sleep(2.1)  # past the UI's stats cache, still inside the plugin's wait for the workers' last stats
        shown_before_restart = _shown_total(ui)
        hits_before_restart = target.hits  # every request Locust counted for the first run reached the target
        _start(ui, target)  # clears Locust's stats, then fires test_start
        assert time.monotonic() - stopped_at < WORKER_REPORT_WAIT, "the restart came too late to test the race"
        second = _running(org, besides=[first.pk])
        first.refresh_from_db()
        assert first.state == "completed"
        assert 0 < shown_before_restart <= first.requests <= hits_before_restart, (
            shown_before_restart,
            first.requests,
            hits_before_restart,
        )
        # The first run's delayed commit fires while the second is stopping or stopped: it must leave it alone, so
        # the second run is committed by its own Stop, once the workers' last stats are in.
        time.sleep(0.5)
        _stop(ui)
        second = _wait(
            lambda: LoadTestRun.objects.filter(pk=second.pk, state="completed").first(), 30, "second run committed"
        )
        time.sleep(2.5)  # past the UI's stats cache
        total = _shown_total(ui)
        assert second.requests == total > 0, (second.requests, total)
    assert LoadTestRun.objects.filter(organization=org).count() == 2
