"""Evaluation in process against PostgreSQL and the real SMTP server: each message exactly once, grouped."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.evaluation import evaluate_rule
from alerts.models import AlertEvent, AlertRule, AlertState, Silence
from devices.models import Device
from notifications.models import Notification
from tests.alerts.conftest import T0, cpu_rule, deliver, offline_rule, seconds, write

pytestmark = pytest.mark.django_db


def _states(rule: AlertRule) -> list[tuple[str, str, str]]:
    return sorted(AlertState.objects.filter(rule=rule).values_list("device__name", "series", "state"))


def _evaluate(rule: AlertRule, at: float) -> Any:
    rule.refresh_from_db()
    return evaluate_rule(AlertRule.objects.select_related("organization").get(id=rule.id), now=T0 + seconds(at))


def test_offline_device_one_email_after_grace_and_for_one_resolved_when_it_sends_again(
    org: Any, make_devices: Any, smtp_server: Any
) -> None:
    (dev,) = make_devices(1)
    rule = offline_rule(org)  # grace 60 s, for 30 s
    assert _evaluate(rule, 30).fired == [] and _states(rule) == []
    assert _evaluate(rule, 61).pending and _states(rule) == [("edge-000", "", "pending")]
    assert _evaluate(rule, 80).fired == []  # pending for 19 s only
    assert len(_evaluate(rule, 92).fired) == 1
    for at in (100, 130, 160):
        assert _evaluate(rule, at).notifications == 0
    deliver()
    assert [m.message["Subject"] for m in smtp_server.messages] == ["[Beacon] FIRING: offline: edge-000"]
    body = smtp_server.messages[0].part("text/plain")
    assert "https://beacon.example.com/o/acme-edge/devices/edge-000/" in body and "s since last data" in body
    Device.objects.filter(id=dev.id).update(last_seen_at=T0 + seconds(170))
    outcome = _evaluate(rule, 175)
    assert (len(outcome.resolved), outcome.notifications) == (1, 1)
    assert _evaluate(rule, 200).notifications == 0
    deliver()
    assert [m.message["Subject"] for m in smtp_server.messages][1:] == ["[Beacon] RESOLVED: offline: edge-000"]
    assert list(AlertEvent.objects.values_list("kind", flat=True).order_by("id")) == ["firing", "resolved"]


def test_fifty_devices_stopping_at_once_are_one_email_naming_fifty(
    org: Any, make_devices: Any, smtp_server: Any
) -> None:
    make_devices(50)
    make_devices(3, prefix="fine", seen=T0 + seconds(100))
    rule = offline_rule(org, for_seconds=0)
    outcome = _evaluate(rule, 100)
    assert (len(outcome.fired), outcome.notifications) == (50, 1)
    deliver()
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0].message["Subject"] == "[Beacon] FIRING: offline: 50 devices"
    body = smtp_server.messages[0].part("text/plain")
    assert all(f"- edge-{i:03d}: 100" in body for i in range(50)) and "fine-" not in body
    assert Notification.objects.get().payload["count"] == 50


def test_oscillating_value_with_hysteresis_fires_once_and_resolves_once(
    org: Any, make_devices: Any, smtp_server: Any, sql_store: Any
) -> None:
    make_devices(1)
    rule = cpu_rule(org, window_seconds=10, recovery_value=70.0)
    values = [75, 81, 79, 82, 78, 85, 72, 81, 79, 65, 75, 79]  # around 80, then below 70 once
    sent = []
    for i, value in enumerate(values):
        write(org, "edge-000", value, T0 + seconds(i * 10))
        outcome = _evaluate(rule, i * 10 + 5)
        sent.append((len(outcome.fired), len(outcome.resolved)))
    assert sent == [(0, 0), (1, 0), *[(0, 0)] * 7, (0, 1), (0, 0), (0, 0)]
    deliver()
    assert [m.message["Subject"] for m in smtp_server.messages] == [
        "[Beacon] FIRING: cpu high: edge-000",
        "[Beacon] RESOLVED: cpu high: edge-000",
    ]


def test_without_hysteresis_the_same_values_flap(org: Any, make_devices: Any, sql_store: Any) -> None:
    make_devices(1)
    rule = cpu_rule(org, window_seconds=10)
    fired = 0
    for i, value in enumerate([81, 79, 81, 79]):
        write(org, "edge-000", value, T0 + seconds(i * 10))
        fired += len(_evaluate(rule, i * 10 + 5).fired)
    assert fired == 2  # what the recovery value is for


def test_split_by_gives_one_state_per_tag_value(org: Any, make_devices: Any, sql_store: Any, smtp_server: Any) -> None:
    make_devices(2)
    rule = cpu_rule(org, name="disk full", measurement="disk", field="used_percent", split_by="path", value=90.0)
    for device, path, used in [("edge-000", "/", 40), ("edge-000", "/data", 97), ("edge-001", "/", 91)]:
        write(org, device, used, T0, measurement="disk", field="used_percent", path=path)
    outcome = _evaluate(rule, 30)
    assert (len(outcome.fired), outcome.notifications) == (2, 1)
    assert _states(rule) == [("edge-000", "/data", "firing"), ("edge-001", "/", "firing")]
    deliver()
    body = smtp_server.messages[0].part("text/plain")
    assert "- edge-000 path=/data: 97" in body and "- edge-001 path=/: 91" in body


def test_repeat_interval_while_firing(org: Any, make_devices: Any, smtp_server: Any) -> None:
    make_devices(1)
    rule = offline_rule(org, for_seconds=0, repeat_seconds=60)
    notified = [_evaluate(rule, at).notifications for at in (70, 100, 129, 131, 160, 190, 192)]
    assert notified == [1, 0, 0, 1, 0, 0, 1]
    deliver()
    assert [m.message["Subject"] for m in smtp_server.messages] == [
        "[Beacon] FIRING: offline: edge-000",
        "[Beacon] STILL FIRING: offline: edge-000",
        "[Beacon] STILL FIRING: offline: edge-000",
    ]


def test_a_silence_suppresses_firing_and_resolved_of_a_problem_begun_inside_it(
    org: Any, make_devices: Any, smtp_server: Any
) -> None:
    dev, _other = make_devices(2)
    rule = offline_rule(org, for_seconds=0)
    silence = Silence.objects.create(organization=org, starts_at=T0, ends_at=T0 + seconds(120), reason="upgrade")
    silence.devices.set([dev])
    outcome = _evaluate(rule, 70)
    assert (len(outcome.fired), outcome.notifications) == (2, 1)  # only `other` is told
    Device.objects.filter(id=dev.id).update(last_seen_at=T0 + seconds(150))
    outcome = _evaluate(rule, 155)  # after the window: dev's resolve is still silent
    assert (len(outcome.resolved), outcome.notifications) == (1, 0)
    deliver()
    assert [m.message["Subject"] for m in smtp_server.messages] == ["[Beacon] FIRING: offline: edge-001"]
    assert sorted(AlertEvent.objects.values_list("device__name", "kind", "silenced")) == [
        ("edge-000", "firing", True),
        ("edge-000", "resolved", True),
        ("edge-001", "firing", False),
    ]


def test_store_down_is_an_evaluation_error_and_resolves_nothing(
    org: Any, make_devices: Any, settings: Any, sql_store: Any
) -> None:
    from timeseries import reset_store

    make_devices(1)
    rule = cpu_rule(org)
    write(org, "edge-000", 95, T0)
    assert len(_evaluate(rule, 10).fired) == 1
    settings.TIMESERIES_BACKEND, settings.INFLUX_URL, settings.INFLUX_TIMEOUT_MS = "influx", "http://127.0.0.1:9", 500
    reset_store()
    try:
        outcome = _evaluate(rule, 200)  # the point is out of the window too: no data must not mean fine
    finally:
        settings.TIMESERIES_BACKEND = "sql"
        reset_store()
    assert outcome.error.startswith("StoreUnavailable") and outcome.resolved == []
    rule.refresh_from_db()
    assert rule.last_error.startswith("StoreUnavailable") and rule.last_error_at == T0 + seconds(200)
    assert _states(rule) == [("edge-000", "", "firing")]
    assert _evaluate(rule, 210).resolved == []  # back up, still no data in the window: unknown, left as is


def test_a_device_taken_out_of_the_rule_leaves_firing_without_a_message(org: Any, make_devices: Any) -> None:
    _, other = make_devices(2)
    rule = offline_rule(org, for_seconds=0)
    assert len(_evaluate(rule, 70).fired) == 2
    rule.devices.set([other])
    outcome = _evaluate(rule, 80)
    assert (outcome.resolved, outcome.notifications) == ([], 0)
    assert _states(rule) == [("edge-000", "", "ok"), ("edge-001", "", "firing")]
    AlertRule.objects.filter(id=rule.id).update(enabled=False)
    from alerts.selectors import current_states

    assert list(current_states(organization=org)) == []  # a disabled rule's states are not shown
