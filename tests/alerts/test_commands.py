"""The demo's alert commands: rules and the simulated device (idempotent), and the simulated device's writes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services as accounts
from alerts.models import AlertRule
from devices.models import Device
from timeseries import get_store

pytestmark = pytest.mark.django_db


def test_alerts_demo_seed_is_idempotent_and_source_writes_the_simulated_device(sql_store: Any) -> None:
    org = accounts.organization_create(name="Demo", slug="demo")
    out = StringIO()
    call_command("alerts_demo_seed", stdout=out)
    call_command("alerts_demo_seed", stdout=out)
    rules = {r.name: r for r in AlertRule.objects.filter(organization=org)}
    assert set(rules) == {"Device offline", "CPU busy", "Disk almost full"}
    assert (rules["Device offline"].grace_seconds, rules["Device offline"].for_seconds) == (60, 30)
    assert (rules["CPU busy"].value, rules["CPU busy"].for_seconds, rules["CPU busy"].window_seconds) == (80.0, 60, 60)
    assert "Kept alert rule 'CPU busy'" in out.getvalue()
    call_command("alerts_demo_source", "--once")
    device = Device.objects.get(organization=org, name="edge-sim")
    assert device.last_seen_at is not None and (timezone.now() - device.last_seen_at).total_seconds() < 30
    stored = get_store().query(
        tenant=str(org.id), measurement="cpu", fields=["usage_user"], start=device.last_seen_at.replace(year=2000),
        end=timezone.now().replace(year=2100), tags={"device": "edge-sim"},
    )  # fmt: skip
    assert [v for r in stored for _, v in r.points] == [95.0]  # the loop starts busy


def test_alerts_demo_seed_without_the_org_says_what_to_run() -> None:
    with pytest.raises(CommandError, match="demo_seed"):
        call_command("alerts_demo_seed")
