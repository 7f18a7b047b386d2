"""Alerts pages: viewers read, org admins create/edit/delete rules and silences (CSRF, audited)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import AuditEntry, Membership
from alerts.evaluation import evaluate_all
from alerts.models import AlertRule, Silence
from tests.alerts.conftest import offline_rule

pytestmark = pytest.mark.django_db


def _client(org: Any, role: str, csrf: bool = False) -> Client:
    user = User.objects.create_user(username=f"page-{role}", password="pw-for-tests-only")
    accounts.membership_grant(user=user, organization=org, role=role)
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_a_viewer_sees_firing_pending_silenced_and_cannot_edit(org: Any, make_devices: Any) -> None:
    old = timezone.now() - timedelta(hours=1)
    *_, c = make_devices(3, seen=old)
    offline_rule(org, name="gone", for_seconds=0)
    offline_rule(org, name="slow", for_seconds=3600)
    silence = Silence.objects.create(organization=org, starts_at=old, ends_at=timezone.now() + timedelta(hours=1))
    silence.devices.set([c])
    evaluate_all()
    viewer = _client(org, Membership.Role.VIEWER)
    page = viewer.get(f"/o/{org.slug}/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-state="firing" data-count="2"' in html and 'data-state="pending" data-count="2"' in html
    assert 'data-state="silenced" data-count="2"' in html and "silenced (firing)" in html
    assert "New rule" not in html and "Edit</a>" not in html
    assert viewer.get(f"/o/{org.slug}/alerts/rules/new").status_code == 403
    assert viewer.post(f"/o/{org.slug}/alerts/rules/{AlertRule.objects.first().id}/delete").status_code == 403
    assert AlertRule.objects.count() == 2
    overview = viewer.get(f"/o/{org.slug}/").content.decode()
    assert "Firing alerts" in overview and 'data-firing="2"' in overview


def test_an_admin_creates_edits_and_deletes_a_rule_and_a_silence(org: Any, make_devices: Any) -> None:
    make_devices(2)
    admin = _client(org, Membership.Role.ADMIN)
    form = {"name": "cpu hot", "enabled": "on", "kind": "threshold", "measurement": "cpu", "field": "usage_user",
            "aggregation": "mean", "window_seconds": "60", "operator": ">", "value": "80", "recovery_value": "70",
            "for_seconds": "60", "recipients": "noc@example.com\nops@example.com"}  # fmt: skip
    response = admin.post(f"/o/{org.slug}/alerts/rules/new", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.get()
    assert (rule.aggregation, rule.value, rule.recipients) == ("mean", 80.0, ["noc@example.com", "ops@example.com"])
    bad = admin.post(f"/o/{org.slug}/alerts/rules/{rule.id}/", {**form, "recovery_value": "90"})
    assert bad.status_code == 400 and "must be at or below value" in bad.content.decode()
    assert admin.post(f"/o/{org.slug}/alerts/rules/{rule.id}/", {**form, "value": "85"}).status_code == 302
    now = timezone.now()
    later = now + timedelta(hours=2)
    silence_form = {"rule": str(rule.id), "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
                    "ends_at": later.strftime("%Y-%m-%dT%H:%M"), "reason": "kernel update"}  # fmt: skip
    assert admin.post(f"/o/{org.slug}/alerts/silences/new", silence_form).status_code == 302
    silence = Silence.objects.get()
    assert (silence.rule, silence.reason, silence.created_by.username) == (rule, "kernel update", "page-admin")
    assert admin.post(f"/o/{org.slug}/alerts/silences/{silence.id}/delete").status_code == 302
    assert admin.post(f"/o/{org.slug}/alerts/rules/{rule.id}/delete").status_code == 302
    assert not AlertRule.objects.exists() and not Silence.objects.exists()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "actor_label"))
    assert actions == [
        ("alert_rule.create", "page-admin"),
        ("alert_rule.update", "page-admin"),
        ("silence.create", "page-admin"),
        ("silence.delete", "page-admin"),
        ("alert_rule.delete", "page-admin"),
    ]
    assert AuditEntry.objects.get(action="alert_rule.update").after == {"value": 85.0}


def test_editing_needs_csrf(org: Any) -> None:
    admin = _client(org, Membership.Role.ADMIN, csrf=True)
    response = admin.post(f"/o/{org.slug}/alerts/rules/new", {"name": "x", "kind": "offline"})
    assert response.status_code == 403 and not AlertRule.objects.exists()


def test_firing_periods_are_chart_bands(org: Any, make_devices: Any, client: Any) -> None:
    from alerts.sections import chart_bands

    (dev,) = make_devices(1, seen=timezone.now() - timedelta(hours=2))
    rule = offline_rule(org, for_seconds=0)
    evaluate_all(now=timezone.now() - timedelta(minutes=30))
    from devices.models import Device

    Device.objects.filter(id=dev.id).update(last_seen_at=timezone.now() - timedelta(minutes=9))
    evaluate_all(now=timezone.now() - timedelta(minutes=9))
    bands = chart_bands(org, timezone.now() - timedelta(hours=1), timezone.now())
    assert [(b["label"], b["url"]) for b in bands] == [(f"{rule.name}: edge-000", f"/o/{org.slug}/alerts/")]
    assert (bands[0]["end"] - bands[0]["start"]).total_seconds() == pytest.approx(21 * 60, abs=5)
    assert chart_bands(org, timezone.now() - timedelta(minutes=5), timezone.now()) == []  # over before the window
