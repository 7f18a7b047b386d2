"""The alerts API: reads for metrics:read keys and members, writes for alerts:write keys and org admins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import AuditEntry, Membership
from alerts.evaluation import evaluate_all
from alerts.models import AlertRule, Silence
from tests.alerts.conftest import offline_rule

pytestmark = pytest.mark.django_db
RULE = {"name": "disk full", "kind": "threshold", "measurement": "disk", "field": "used_percent", "value": 90,
        "recovery_value": 85, "split_by": "path", "for_seconds": 60, "recipients": ["noc@example.com"]}  # fmt: skip


def RULE_ENTRIES() -> Any:
    return AuditEntry.objects.filter(action__startswith="alert_rule.")  # issuing the fixtures' keys is audited too


@pytest.fixture
def writer(org: Any, issue_key: Any, client_for: Any) -> APIClient:
    return client_for(issue_key(org, ["metrics:read", "alerts:write"]))


@pytest.fixture
def reader(org: Any, issue_key: Any, client_for: Any) -> APIClient:
    return client_for(issue_key(org, ["metrics:read"]))


def _member(org: Any, role: str, csrf: bool = False) -> APIClient:
    user = User.objects.create_user(username=f"m-{role}", password="pw-for-tests-only")
    accounts.membership_grant(user=user, organization=org, role=role)
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_a_writer_key_creates_reads_updates_and_deletes_a_rule_each_change_audited(
    org: Any, writer: APIClient, reader: APIClient, make_devices: Any
) -> None:
    make_devices(2)
    response = writer.post("/api/v1/alerts/rules/", {**RULE, "devices": ["edge-001"]}, format="json")
    assert response.status_code == 201, response.content
    rule_id = response.json()["id"]
    assert response.json()["devices"] == ["edge-001"] and response.json()["aggregation"] == "last"
    listed = reader.get("/api/v1/alerts/rules/").json()["results"]  # cursor-paginated like every list
    assert [(r["name"], r["value"], r["split_by"]) for r in listed] == [("disk full", 90.0, "path")]
    response = writer.patch(f"/api/v1/alerts/rules/{rule_id}", {"value": 95, "devices": []}, format="json")
    assert response.status_code == 200 and (response.json()["value"], response.json()["devices"]) == (95.0, [])
    assert reader.get(f"/api/v1/alerts/rules/{rule_id}").json()["value"] == 95.0
    assert writer.delete(f"/api/v1/alerts/rules/{rule_id}").status_code == 204
    assert not AlertRule.objects.exists()
    # Only the rule's entries: issuing the fixtures' keys is audited too (api_key.issue).
    entries = list(RULE_ENTRIES().order_by("id").values_list("action", "before", "after"))
    assert [e[0] for e in entries] == ["alert_rule.create", "alert_rule.update", "alert_rule.delete"]
    assert entries[1][1] == {"value": 90.0, "devices": ["edge-001"]} and entries[1][2] == {"value": 95, "devices": []}


def test_a_read_key_cannot_write(reader: APIClient) -> None:
    response = reader.post("/api/v1/alerts/rules/", RULE, format="json")
    assert response.status_code == 403 and "alerts:write" in response.json()["message"]
    assert not AlertRule.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"measurement": ""}, "measurement", "needs a measurement"),
        ({"recipients": ["nope"]}, "recipients", "email"),
        ({"recovery_value": 95}, "recovery_value", "at or below"),
        ({"devices": ["ghost"]}, "devices", "ghost"),
        ({"operator": "=="}, "operator", "valid choice"),
        ({"webhook_url": "http://169.254.169.254/x"}, "webhook_url", "link-local"),
    ],
)
def test_bad_rules_are_400_naming_the_field_and_write_nothing(
    writer: APIClient, change: dict[str, Any], field: str, words: str
) -> None:
    response = writer.post("/api/v1/alerts/rules/", {**RULE, **change}, format="json")
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert field in detail and words in str(detail[field])
    assert not AlertRule.objects.exists() and not RULE_ENTRIES().exists()


def test_duplicate_names_are_400(writer: APIClient) -> None:
    assert writer.post("/api/v1/alerts/rules/", RULE, format="json").status_code == 201
    response = writer.post("/api/v1/alerts/rules/", RULE, format="json")
    assert response.status_code == 400 and "exists" in str(response.json()["detail"]["name"])


def test_members_read_and_only_admins_write_with_csrf(org: Any) -> None:
    viewer = _member(org, Membership.Role.VIEWER)
    assert viewer.get("/api/v1/alerts/rules/").status_code == 200
    response = viewer.post("/api/v1/alerts/rules/", RULE, format="json")
    assert response.status_code == 403 and "admin role" in response.json()["message"]
    admin = _member(org, Membership.Role.ADMIN, csrf=True)
    assert admin.post("/api/v1/alerts/rules/", RULE, format="json").status_code == 403  # no CSRF token
    admin.handler.enforce_csrf_checks = False
    assert admin.post("/api/v1/alerts/rules/", RULE, format="json").status_code == 201
    assert RULE_ENTRIES().get().actor_label == "m-admin"


def test_silences_and_states_and_history(org: Any, writer: APIClient, reader: APIClient, make_devices: Any) -> None:
    dev, _ = make_devices(2, seen=timezone.now() - timedelta(hours=1))
    rule = offline_rule(org, for_seconds=0)
    ends = (timezone.now() + timedelta(hours=1)).isoformat()
    response = writer.post(
        "/api/v1/alerts/silences/",
        {"rule": rule.id, "devices": [dev.name], "ends_at": ends, "reason": "swap"},
        format="json",
    )
    assert response.status_code == 201, response.content
    silence = response.json()
    assert (silence["rule"], silence["devices"], silence["reason"]) == (rule.id, ["edge-000"], "swap")
    bad = writer.post("/api/v1/alerts/silences/", {"ends_at": "2000-01-01T00:00:00Z"}, format="json")
    assert bad.status_code == 400 and "ends_at" in bad.json()["detail"]
    evaluate_all()
    states = reader.get("/api/v1/alerts/").json()["results"]
    assert [(s["device"], s["state"], s["silenced"]) for s in states] == [
        ("edge-000", "firing", True),
        ("edge-001", "firing", False),
    ]
    history = reader.get("/api/v1/alerts/history").json()["results"]
    assert sorted((e["device"], e["kind"], e["silenced"]) for e in history) == [
        ("edge-000", "firing", True),
        ("edge-001", "firing", False),
    ]
    assert reader.get("/api/v1/alerts/history", {"rule": "x"}).status_code == 400
    assert reader.get(f"/api/v1/alerts/silences/{silence['id']}").json()["reason"] == "swap"
    moved = writer.patch(f"/api/v1/alerts/silences/{silence['id']}", {"reason": "swap, longer"}, format="json")
    assert moved.status_code == 200 and moved.json()["reason"] == "swap, longer"
    assert writer.delete(f"/api/v1/alerts/silences/{silence['id']}").status_code == 204
    assert not Silence.objects.exists()
    assert reader.get("/api/v1/alerts/").json()["results"][0]["silenced"] is True  # the problem began inside it


def test_a_device_bound_key_is_refused(org: Any, issue_key: Any, client_for: Any, make_devices: Any) -> None:
    (dev,) = make_devices(1)
    bound = client_for(issue_key(org, ["metrics:read"], device=dev))
    assert bound.get("/api/v1/alerts/rules/").status_code == 403
