"""beacon_client.LoadTests under a real Python 3.9 with nothing but the standard library (`-S`, PYTHONPATH=the
client only), against the live portal: register, stats, commit, pin, compare. The plugin module needs Locust and
is only parsed here for 3.9 syntax."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Organization
from loadtests.models import LoadTestRun
from tests.agent.test_python39 import interpreter
from tests.loadtests.live import CLIENT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SCRIPT = """
import json, sys
from beacon_client import BeaconError, Connection, LoadTests
url, key = sys.argv[1], sys.argv[2]
client = LoadTests(Connection(url, key))
entry = {"name": "/", "method": "GET", "num_requests": 10, "num_failures": 1, "response_times": {"10": 9, "50": 1},
         "start_time": 100.0, "last_request_timestamp": 105.0}
base = client.register(plan="py39", users=2, checks=["p95<100"])
client.stats(base, interval=1.0, entries=[entry], users=2)
first = client.commit(base, entries=[entry], exit_code=1)
client.pin_baseline(base)
run = client.register(plan="py39", checks=["p95_regression<10%"])
second = client.commit(run, entries=[dict(entry, response_times={"10": 5, "90": 5})])
try:
    client.commit(run, entries=[entry])
    conflict = None
except BeaconError as error:
    conflict = [error.status, error.code]
compared = client.compare(run)
print(json.dumps({"first": first, "second": second, "conflict": conflict, "compared": compared,
                  "listed": [r["uuid"] for r in client.list(plan="py39")]}))
"""


def test_client_on_python39(portal: str, org: Organization, issue_key: Any, tmp_path: Path) -> None:
    python = interpreter("3.9")
    key = issue_key(org, ["loadtests:write", "metrics:read"])
    out = subprocess.run(
        [python, "-S", "-c", SCRIPT, portal, key],
        env={"PYTHONPATH": str(CLIENT), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert (answer["first"]["requests"], answer["first"]["failures"], answer["first"]["failed_checks"]) == (10, 1, [])
    assert answer["second"]["failed_checks"] == ["p95_regression<10%"]  # p95 90 ms vs 50 ms
    assert answer["conflict"] == [409, "conflict"]
    total = answer["compared"]["endpoints"][0]
    assert (total["run"]["p95"], total["to"]["p95"], total["change_pct"]["p95"]) == (90, 50, 80.0)
    assert len(answer["listed"]) == 2 and LoadTestRun.objects.filter(organization=org, plan="py39").count() == 2


def test_plugin_parses_as_python39() -> None:
    source = (CLIENT / "beacon_client" / "locust.py").read_text()
    ast.parse(source, feature_version=(3, 9))
