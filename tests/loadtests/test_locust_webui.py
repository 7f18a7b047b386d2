"""Locust's web-UI mode (no --headless), master + 2 workers: each Start is a new run, committed after Stop once the
workers' last stats are in, with the counts Locust's own /stats/requests shows; SIGTERM ends Locust with code 0."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts.models import Organization
from loadtests.models import LoadTestRun
from tests.loadtests.live import LOCUST, Target, free_port, locust_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


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


def test_each_start_is_a_run_committed_after_stop(
    portal: str, target: Target, locustfile: Path, org: Organization, issue_key: Any, tmp_path: Path
) -> None:
    key = issue_key(org, ["loadtests:write"])
    port, master = free_port(), str(free_port())
    ui = f"http://127.0.0.1:{port}"
    command = [str(LOCUST), "-f", str(locustfile), "--web-host", "127.0.0.1", "--web-port", str(port),
               "--processes", "2", "--master-bind-port", master, "--master-port", master, "--host", target.url,
               "--beacon-url", portal, "--beacon-key", key, "--beacon-interval", "1"]  # fmt: skip
    log = (tmp_path / "locust.log").open("w")
    # Its own session: the forked workers are killed with the master if the test fails half-way.
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=locust_env(), start_new_session=True)
    try:
        _wait(lambda: _ui_up(ui), 30, "Locust's web UI")
        _wait(lambda: requests.get(f"{ui}/worker-count", timeout=2).json().get("worker_count") == 2, 30, "2 workers")
        committed = []
        for round_ in range(2):
            answer = requests.post(
                f"{ui}/swarm", data={"user_count": 4, "spawn_rate": 4, "host": target.url}, timeout=5
            )
            assert answer.json()["success"], answer.text
            _wait(lambda: LoadTestRun.objects.filter(organization=org, state="running").exists(), 20, "registration")
            time.sleep(3)
            assert requests.post(f"{ui}/stop", timeout=5).json()["success"]  # POST since Locust 2.47
            run = _wait(
                lambda: (
                    LoadTestRun.objects.filter(organization=org, state="completed").exclude(pk__in=committed).first()
                ),
                30,
                f"run {round_} committed",
            )
            committed.append(run.pk)
            time.sleep(2.5)  # past the UI's stats cache
            shown = requests.get(f"{ui}/stats/requests", timeout=5).json()
            total = next(s for s in shown["stats"] if s["name"] == "Aggregated")
            assert run.requests == total["num_requests"] > 0, (run.requests, total)
            assert run.mode == "cluster"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group of the Locust started above (master and workers)
        proc.wait()
        log.close()
    runs = LoadTestRun.objects.filter(organization=org)
    assert runs.count() == 2 and set(runs.values_list("state", flat=True)) == {"completed"}
