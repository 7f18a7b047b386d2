"""beacon_client.Registry (stdlib only) against a live portal: under real Python 3.9 with no site-packages,
the seed's whole method set; and its retries on 429 with the server's Retry-After."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Organization
from registry.models import Gauge
from tests.agent.test_python39 import interpreter

pytestmark = pytest.mark.django_db(transaction=True)
CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "python"

SCRIPT = """
import json, sys
from beacon_client import BeaconError, Registry
r = Registry(sys.argv[1], sys.argv[2])
out = {}
r.create("uptime", "metric server uptime")
r.create("uptime", "metric server uptime")  # exists, same description: fine
r.update("uptime", 10)
r.increment("uptime"); r.add("uptime", 2.5); r.subtract("uptime", 0.5); r.decrement("uptime")
out["uptime"] = r.read("uptime")
r.create_update("queue", "queue depth", 7, labels={"queue": "mail"})
r.increment("queue", labels={"queue": "mail"})
out["queue"] = r.read("queue", labels={"queue": "mail"})
try:
    r.create("uptime", "another description")
except BeaconError as e:
    out["conflict"] = [e.status, e.code]
r.delete("uptime")
try:
    r.read("uptime")
except BeaconError as e:
    out["deleted"] = [e.status, e.code]
try:
    r.update("queue", float("nan"), labels={"queue": "mail"})
except BeaconError as e:
    out["nan"] = e.status
print(json.dumps(out))
"""


def test_seed_methods_under_python39(live_server: Any, org: Organization, issue_key: Callable[..., str]) -> None:
    key = issue_key(org, ["gauges:write", "gauges:read"])
    python = interpreter("3.9")
    done = subprocess.run(
        [python, "-S", "-c", SCRIPT, live_server.url, key],
        env={"PYTHONPATH": str(CLIENT_DIR)},
        capture_output=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr.decode()
    out = json.loads(done.stdout)
    assert out == {
        "uptime": 12.0,
        "queue": 8.0,
        "conflict": [409, "conflict"],
        "deleted": [404, "not_found"],
        "nan": 400,
    }
    assert list(Gauge.objects.values_list("name", "labels", "value")) == [("queue", {"queue": "mail"}, 8.0)]


def test_retries_on_429_with_retry_after(
    live_server: Any, org: Organization, issue_key: Callable[..., str], settings: Any
) -> None:
    settings.RATELIMIT_ENABLE = True
    sys.path.insert(0, str(CLIENT_DIR))
    try:
        from beacon_client import BeaconError, Registry
    finally:
        sys.path.remove(str(CLIENT_DIR))
    key = issue_key(org, ["gauges:write", "gauges:read"], rate_limit="2/m")
    waits: list[float] = []
    registry = Registry(live_server.url, key, retries=2, max_wait=0.01, sleep=waits.append)
    registry.create("g", "d")
    registry.increment("g")
    with pytest.raises(BeaconError) as refused:
        registry.increment("g")
    assert refused.value.status == 429 and refused.value.code == "too_many_requests"
    assert waits == [0.01, 0.01]  # retried twice, each wait capped at max_wait (the server said up to 60 s)
    assert Gauge.objects.get().value == 1.0
