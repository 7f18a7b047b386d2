"""Concurrent evaluations of the same rules (threads, each with its own PostgreSQL connection): every
transition is claimed by one of them, so every message exists exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.evaluation import evaluate_all
from alerts.models import AlertEvent, AlertState
from devices.models import Device
from notifications.models import Notification
from tests.alerts.conftest import T0, cpu_rule, offline_rule, seconds, write
from tests.notifications.helpers import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_concurrent_evaluations_notify_each_transition_once(org: Any, make_devices: Any, sql_store: Any) -> None:
    made = make_devices(40)
    offline_rule(org, for_seconds=0, repeat_seconds=60)
    cpu_rule(org, recovery_value=70.0)
    for device in made[:10]:
        write(org, device.name, 95, T0 + seconds(50))

    def evaluate_at(at: float) -> None:
        run_concurrently(4, lambda: evaluate_all(now=T0 + seconds(at)))

    evaluate_at(70)  # 40 offline, 10 hot: two firing messages
    evaluate_at(80)
    evaluate_at(131)  # the repeat of the offline one
    Device.objects.filter(id__in=[d.id for d in made]).update(last_seen_at=T0 + seconds(140))
    for device in made[:10]:
        write(org, device.name, 50, T0 + seconds(140))
    evaluate_at(150)  # both resolve
    evaluate_at(160)
    kinds = sorted(Notification.objects.values_list("subject", flat=True))
    assert kinds == [
        "[Beacon] FIRING: cpu high: 10 devices",
        "[Beacon] FIRING: offline: 40 devices",
        "[Beacon] RESOLVED: cpu high: 10 devices",
        "[Beacon] RESOLVED: offline: 40 devices",
        "[Beacon] STILL FIRING: offline: 40 devices",
    ]
    assert AlertEvent.objects.filter(kind="firing").count() == 50
    assert AlertEvent.objects.filter(kind="resolved").count() == 50
    assert set(AlertState.objects.values_list("state", flat=True)) == {"ok"}
