"""Every settings URL: an org admin gets the page or does the action; a viewer 403 with a page that says why;
a member of another org 404 (as for an unknown org); signed out, the sign-in form; CSRF enforced on actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts import services as accounts
from accounts.models import ApiKey, AuditEntry, Organization
from devices import services as devices
from notifications.models import WebhookEndpoint
from tests.settings.conftest import People, csrf_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(org: Organization, people: People) -> dict[str, Any]:
    device = devices.device_create(organization=org, name="edge-1")
    key = accounts.api_key_issue(organization=org, name="k", scopes=["metrics:write"]).api_key
    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/a", enabled=False)
    return {"device": device, "key": key, "endpoint": endpoint, "member": people.admin_membership}


def pages(slug: str) -> list[str]:
    return [
        f"/o/{slug}/settings/",
        f"/o/{slug}/settings/keys/",
        f"/o/{slug}/settings/members/",
        f"/o/{slug}/settings/devices/",
        f"/o/{slug}/settings/devices/edge-1/delete-data/",
        f"/o/{slug}/settings/webhooks/",
        f"/o/{slug}/settings/audit/",
    ]


def actions(slug: str, o: dict[str, Any]) -> list[str]:
    return [
        f"/o/{slug}/settings/keys/",
        f"/o/{slug}/settings/keys/{o['key'].pk}/revoke/",
        f"/o/{slug}/settings/keys/{o['key'].pk}/rotate/",
        f"/o/{slug}/settings/members/",
        f"/o/{slug}/settings/members/{o['member'].pk}/role/",
        f"/o/{slug}/settings/members/{o['member'].pk}/remove/",
        f"/o/{slug}/settings/devices/edge-1/rename/",
        f"/o/{slug}/settings/devices/edge-1/decommission/",
        f"/o/{slug}/settings/devices/edge-1/recommission/",
        f"/o/{slug}/settings/devices/edge-1/delete-data/",
        f"/o/{slug}/settings/webhooks/{o['endpoint'].pk}/rotate/",
        f"/o/{slug}/settings/webhooks/{o['endpoint'].pk}/enable/",
        f"/o/{slug}/settings/webhooks/{o['endpoint'].pk}/test/",
    ]


def test_admin_opens_every_settings_page(org: Organization, people: People, objects: dict[str, Any]) -> None:
    for url in pages(org.slug):
        response = people.admin_client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"].startswith("no-store"), url
        assert b'aria-label="Settings"' in response.content, url  # the settings tabs


def test_viewer_gets_403_with_a_clear_page_and_changes_nothing(
    org: Organization, people: People, objects: dict[str, Any]
) -> None:
    before = (list(ApiKey.objects.values_list("revoked_at", "expires_at")), AuditEntry.objects.count())
    for url in pages(org.slug) + actions(org.slug, objects):
        for method in ("get", "post"):
            response = getattr(people.viewer_client, method)(url, {"name": "x", "role": "viewer", "confirm": "edge-1"})
            if method == "get" and url in actions(org.slug, objects) and url not in pages(org.slug):
                assert response.status_code == 405, url  # actions are POST only, for everyone
                continue
            assert response.status_code == 403, (method, url)
            assert b"Only an admin of this organization can change its settings." in response.content, url
    assert (list(ApiKey.objects.values_list("revoked_at", "expires_at")), AuditEntry.objects.count()) == before


def test_other_orgs_admin_and_unknown_org_get_404(org: Organization, people: People, objects: dict[str, Any]) -> None:
    for url in pages(org.slug) + actions(org.slug, objects):
        assert people.outsider_client.post(url).status_code == 404, url
    for url in pages("no-such-org"):
        assert people.admin_client.get(url).status_code == 404, url


def test_signed_out_is_sent_to_sign_in(org: Organization, objects: dict[str, Any]) -> None:
    for url in pages(org.slug):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_actions_need_the_csrf_token(org: Organization, csrf_client: Client, objects: dict[str, Any]) -> None:
    key = objects["key"]
    url = f"/o/{org.slug}/settings/keys/{key.pk}/revoke/"
    assert csrf_client.post(url).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    token = csrf_token(csrf_client, f"/o/{org.slug}/settings/keys/")
    assert csrf_client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_settings_link_in_the_header_only_for_admins(org: Organization, people: People) -> None:
    link = f'href="/o/{org.slug}/settings/"'.encode()
    keys = f'href="/o/{org.slug}/settings/keys/">Issue the key in Settings'.encode()  # the empty state's pointer
    admin_page, viewer_page = (c.get(f"/o/{org.slug}/").content for c in (people.admin_client, people.viewer_client))
    assert link in admin_page and keys in admin_page
    assert link not in viewer_page and keys not in viewer_page
