"""scripts/demo_pusher.py pushes to a live server and the points show up in history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from devices import services as device_services
from devices.models import Organization, Scope

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_pusher.py"


def test_pusher_once_reaches_history(live_server: Any, org: Organization, tmp_path: Path) -> None:
    write = device_services.api_key_issue(organization=org, name="w", scopes=[Scope.METRICS_WRITE]).plaintext
    read = device_services.api_key_issue(organization=org, name="r", scopes=[Scope.METRICS_READ]).plaintext
    keys = tmp_path / "demo-keys.env"
    keys.write_text(f"BEACON_URL={live_server.url}\nBEACON_DEMO_WRITE_KEY={write}\n")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--once", "--keys-file", str(keys), "--devices", "edge-01,edge-02"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    answer = requests.get(
        f"{live_server.url}/api/v1/history",
        params={"device": "edge-02", "field": ["cpu_percent", "uptime_s"], "start": "-5m"},
        headers={"Authorization": f"Bearer {read}"},
        timeout=10,
    ).json()
    series = {s["field"]: s["points"] for s in answer["series"]}
    assert len(series["cpu_percent"]) == 1 and 0 <= series["cpu_percent"][0][1] <= 100
    assert series["uptime_s"][0][1] == 0


def test_pusher_without_key_says_how_to_fix(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--once", "--keys-file", str(tmp_path / "missing.env")],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "run `python manage.py demo_seed` first" in done.stderr
