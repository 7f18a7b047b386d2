"""Alerts pages: viewers read, org admins create/edit/delete rules and silences (CSRF, audited)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import AuditEntry, Membership
from alerts.evaluation import evaluate_all
from alerts.models import AlertEvent, AlertRule, Silence
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


def _device_page_scenario(org: Any, make_devices: Any) -> tuple[Any, Any, Any]:
    """edge-000 offline and firing; edge-001 fired and resolved; edge-002 busy and pending (real rows)."""
    from devices.models import Device
    from tests.alerts.conftest import cpu_rule, write

    now = timezone.now()
    gone, back, busy = make_devices(3, seen=now - timedelta(hours=2))
    Device.objects.filter(id=busy.id).update(last_seen_at=now)
    offline_rule(org, name="gone quiet", for_seconds=0)
    cpu_rule(org, name="cpu hot", for_seconds=3600)
    write(org, busy.name, 97.0, now - timedelta(minutes=20, seconds=30))
    evaluate_all(now=now - timedelta(minutes=20))
    Device.objects.filter(id=back.id).update(last_seen_at=now - timedelta(minutes=10))
    evaluate_all(now=now - timedelta(minutes=10))
    assert sorted(AlertEvent.objects.values_list("device__name", "kind")) == [
        ("edge-000", "firing"),
        ("edge-001", "firing"),
        ("edge-001", "resolved"),
    ]
    return gone, back, busy


def _rows(html: str, section: str) -> list[list[str]]:
    """The text of each cell of each body row of a page section."""
    found = re.search(rf'data-section="{section}">(.*?)</section>', html, re.S)
    assert found, f"no section {section}"
    rows = re.findall(r"<tr data-.*?</tr>", found[1], re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in row] for row in cells]


def test_the_device_page_lists_its_own_alerts_and_history(org: Any, make_devices: Any, sql_store: Any) -> None:
    gone, back, busy = _device_page_scenario(org, make_devices)
    viewer = _client(org, Membership.Role.VIEWER)
    pages = {d.name: viewer.get(f"/o/{org.slug}/devices/{d.slug}/").content.decode() for d in (gone, back, busy)}
    # Device, rule, state, since, value; history: when, rule, event, value.
    assert [r[:3] for r in _rows(pages["edge-000"], "device-alerts")] == [["edge-000", "gone quiet", "firing"]]
    assert [r[1:3] for r in _rows(pages["edge-000"], "device-alert-history")] == [["gone quiet", "firing"]]
    # Resolved: nothing now, both transitions in its history (newest first); another device's are not listed.
    assert _rows(pages["edge-001"], "device-alerts") == []
    assert "No alert is firing or pending for this device." in pages["edge-001"]
    assert [r[1:3] for r in _rows(pages["edge-001"], "device-alert-history")] == [
        ["gone quiet", "resolved"],
        ["gone quiet", "firing"],
    ]
    pending = _rows(pages["edge-002"], "device-alerts")
    assert [(r[:3], r[4]) for r in pending] == [(["edge-002", "cpu hot", "pending"], "97")]
    assert "No alert has fired for this device." in pages["edge-002"]


def test_device_charts_get_that_devices_firing_periods_only(
    org: Any, other_org: Any, make_devices: Any, sql_store: Any, settings: Any
) -> None:
    settings.CHART_BANDS = ["alerts.sections.chart_bands", "tests.pages.band_sources.runs"]
    gone, back, _ = _device_page_scenario(org, make_devices)
    (stranger,) = make_devices(1, prefix="theirs", organization=other_org)
    viewer = _client(org, Membership.Role.VIEWER)
    url = f"/o/{org.slug}/chart-bands"

    def labels(**params: str) -> list[str]:
        response = viewer.get(url, params)
        assert response.status_code == 200
        return sorted(band["label"] for band in response.json()["bands"])

    runs = [f"run 1 of {org.slug}", "run 2 (running)"]  # a source without `device` draws on every chart
    assert labels() == sorted(["gone quiet: edge-000", "gone quiet: edge-001", *runs])
    assert labels(device=gone.slug) == sorted(["gone quiet: edge-000", *runs])
    assert labels(device=back.slug) == sorted(["gone quiet: edge-001", *runs])
    band = next(b for b in viewer.get(url, {"device": back.slug}).json()["bands"] if "edge-001" in b["label"])
    span = datetime.fromisoformat(band["end"]) - datetime.fromisoformat(band["start"])
    assert span.total_seconds() == pytest.approx(600, abs=2)  # fired, then resolved ten minutes later
    for slug in ("nope", stranger.slug):  # unknown here, whether or not another organization has it
        response = viewer.get(url, {"device": slug})
        assert response.status_code == 400
        assert response.json()["message"] == f"parameter 'device': no device '{slug}' in this organization"
