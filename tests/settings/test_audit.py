"""The audit log page (newest first, filter by action, org-scoped) and the Django admin's audited saves."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts import services as accounts
from accounts.audit import Actor
from accounts.models import ApiKey, AuditEntry, Membership, Organization
from tests.settings.conftest import People

pytestmark = pytest.mark.django_db


def test_audit_page_newest_first_filtered_and_scoped(
    org: Organization, other_org: Organization, people: People
) -> None:
    actor = Actor(user=people.admin)
    first = accounts.api_key_issue(organization=org, name="first", scopes=["metrics:read"], actor=actor).api_key
    accounts.api_key_revoke(api_key=first, actor=actor)
    accounts.api_key_issue(organization=org, name="second", scopes=["metrics:read"], actor=actor)
    accounts.api_key_issue(organization=other_org, name="theirs", scopes=["metrics:read"])
    page = people.admin_client.get(f"/o/{org.slug}/settings/audit/")
    rows = page.content.decode().split('<tr data-action="')[1:]
    assert [r.split('"')[0] for r in rows] == ["api_key.issue", "api_key.revoke", "api_key.issue"]
    assert "second" in rows[0] and "first" in rows[2] and "alice" in rows[0]
    assert b"theirs" not in page.content
    assert b'<option value="api_key.revoke">' in page.content
    filtered = people.admin_client.get(f"/o/{org.slug}/settings/audit/", {"action": "api_key.revoke"})
    assert filtered.content.count(b'<tr data-action="') == 1 and b"revoked_at=None" in filtered.content


def test_a_keys_configuration_write_is_audited_with_the_key(
    org: Organization, issue_key: object, client_for: object
) -> None:
    plaintext = issue_key(org, ["metrics:write"])  # type: ignore[operator]
    response = client_for(plaintext).post(  # type: ignore[operator]
        "/api/v2/write", data=b"cpu,device=brand-new v=1", content_type="text/plain"
    )
    assert response.status_code == 204
    entry = AuditEntry.objects.get(action="device.register")
    key = ApiKey.objects.get(organization=org)
    assert entry.actor_key == key and entry.actor_user is None
    assert entry.actor_label == f"key {key.prefix}… ({key.name})"
    assert (entry.target, entry.after) == ("device 'brand-new'", {"devices": ["brand-new"]})


@pytest.fixture
def staff(db: None) -> Client:
    user = User.objects.create_superuser(username="root", password="root-pw-123", email="root@example.com")
    client = Client()
    client.force_login(user)
    return client


def test_admin_key_change_and_actions_are_audited(org: Organization, staff: Client) -> None:
    key = accounts.api_key_issue(organization=org, name="old name", scopes=["metrics:read"]).api_key
    response = staff.post(
        f"/admin/accounts/apikey/{key.pk}/change/",
        {
            "name": "new name",
            "scopes": ["metrics:read", "metrics:write"],
            "expires_at_0": "",
            "expires_at_1": "",
            "rate_limit": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    entry = AuditEntry.objects.get(action="api_key.update")
    assert entry.actor_label == "root"
    assert entry.before == {"name": "old name", "scopes": ["metrics:read"]}
    assert entry.after == {"name": "new name", "scopes": ["metrics:read", "metrics:write"]}
    staff.post("/admin/accounts/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]})
    assert AuditEntry.objects.get(action="api_key.revoke").actor_label == "root"


def test_admin_membership_saves_are_audited(org: Organization, staff: Client, people: People) -> None:
    membership = Membership.objects.get(organization=org, user=people.viewer)
    response = staff.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": people.viewer.pk, "organization": org.pk, "role": "admin"},
    )
    assert response.status_code == 302, response.content[:2000]
    entry = AuditEntry.objects.get(action="membership.change_role")
    assert (entry.actor_label, entry.before, entry.after) == ("root", {"role": "viewer"}, {"role": "admin"})
    staff.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEntry.objects.get(action="membership.remove").before == {"user": "victor", "role": "admin"}
