"""Settings → API keys: issue (plaintext once, install command), the issued key writes for real, revoke, rotate,
last used, bad input; every change in the audit log without secrets."""

from __future__ import annotations

import json
import re
from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditEntry, Organization
from devices import services as devices
from tests.settings.conftest import People

pytestmark = pytest.mark.django_db
PLAINTEXT = re.compile(rb"bcn_[0-9a-f]{16}_[A-Za-z0-9_\-]+")


def issue(client: Client, org: Organization, **data: object) -> bytes:
    response = client.post(f"/o/{org.slug}/settings/keys/", data)
    assert response.status_code == 200, response.content[:500]
    return response.content


def write(plaintext: str, body: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client.post("/api/v2/write", data=body.encode(), content_type="text/plain").status_code


def test_issue_shows_the_key_once_and_it_writes(org: Organization, people: People, settings: object) -> None:
    settings.PUBLIC_URL = "https://beacon.example.com"  # type: ignore[attr-defined]
    device = devices.device_create(organization=org, name="pi-17")
    page = issue(people.admin_client, org, name="agent on pi-17", scopes=["metrics:write"], device=device.pk)
    found = PLAINTEXT.findall(page)
    plaintext = found[0].decode()
    assert set(found) == {found[0]}  # the key, and the install command with the same key
    assert f"sudo ./install.sh --url https://beacon.example.com --key {plaintext}" in page.decode()
    assert "--device" not in page.decode().split("install-command")[1].split("</pre>")[0]  # bound: not needed
    key = ApiKey.objects.get(organization=org, name="agent on pi-17")
    assert key.device == device and key.scopes == ["metrics:write"] and plaintext.startswith(key.prefix)
    # The key from the page authenticates a real write (its device tag forced from the key).
    assert write(plaintext, "cpu usage_user=1.5") == 204
    # The list shows the prefix and "last used", never the key again.
    listing = people.admin_client.get(f"/o/{org.slug}/settings/keys/").content
    assert plaintext.encode() not in listing and f"{key.prefix}…".encode() in listing
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.last_used_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M").encode() in listing
    entry = AuditEntry.objects.get(organization=org, action="api_key.issue")
    assert entry.actor_user == people.admin and entry.target == f"API key 'agent on pi-17' ({key.prefix}…)"
    assert entry.after == {
        "name": "agent on pi-17",
        "prefix": key.prefix,
        "scopes": ["metrics:write"],
        "device": str(device),
        "expires_at": None,
        "revoked_at": None,
        "rate_limit": "",
    }
    assert plaintext.split("_")[2] not in json.dumps([entry.before, entry.after]) and key.digest not in str(entry.after)


def test_an_org_wide_key_gets_the_device_option_and_an_expiry(org: Organization, people: People) -> None:
    expiry = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    page = issue(people.admin_client, org, name="scripts", scopes=["metrics:write", "metrics:read"], expires_at=expiry)
    assert b"--device &lt;device name&gt;" in page
    key = ApiKey.objects.get(name="scripts")
    assert key.device is None and key.expires_at is not None and key.expires_at.strftime("%Y-%m-%dT%H:%M") == expiry


def test_a_read_only_key_has_no_install_command(org: Organization, people: People) -> None:
    page = issue(people.admin_client, org, name="grafana", scopes=["metrics:read"])
    assert b"install.sh" not in page and len(PLAINTEXT.findall(page)) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, b"This field is required."),
        ({"name": "", "scopes": ["metrics:read"]}, b"This field is required."),
        ({"name": "x", "scopes": ["root"]}, b"Select a valid choice. root is not one of the available choices."),
        (
            {"name": "x", "scopes": ["metrics:read"], "expires_at": "2001-01-01T00:00"},
            b"The expiry must be in the future.",
        ),
        ({"name": "x", "scopes": ["metrics:read"], "device": "999999"}, b"Select a valid choice."),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_issues_nothing(
    org: Organization, people: People, data: dict[str, object], message: bytes
) -> None:
    response = people.admin_client.post(f"/o/{org.slug}/settings/keys/", data)
    assert response.status_code == 400
    assert message in response.content
    assert not PLAINTEXT.search(response.content)
    assert ApiKey.objects.count() == 0 and AuditEntry.objects.count() == 0


def test_another_orgs_device_cannot_be_bound(org: Organization, other_org: Organization, people: People) -> None:
    theirs = devices.device_create(organization=other_org, name="theirs")
    response = people.admin_client.post(
        f"/o/{org.slug}/settings/keys/", {"name": "x", "scopes": ["metrics:write"], "device": theirs.pk}
    )
    assert response.status_code == 400 and ApiKey.objects.count() == 0


def test_revoke_stops_the_key_and_is_audited(org: Organization, people: People) -> None:
    plaintext = PLAINTEXT.findall(issue(people.admin_client, org, name="w", scopes=["metrics:write"]))[0].decode()
    key = ApiKey.objects.get(name="w")
    assert write(plaintext, "cpu,device=d1 v=1") == 204
    response = people.admin_client.post(f"/o/{org.slug}/settings/keys/{key.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == f"/o/{org.slug}/settings/keys/"
    assert write(plaintext, "cpu,device=d1 v=2") == 401
    entry = AuditEntry.objects.get(action="api_key.revoke")
    key.refresh_from_db()
    assert entry.before == {"revoked_at": None} and entry.after == {"revoked_at": key.revoked_at.isoformat()}  # type: ignore[union-attr]
    assert b">revoked<" in people.admin_client.get(f"/o/{org.slug}/settings/keys/").content


def test_rotate_shows_the_new_key_once_and_the_old_one_expires(
    org: Organization, people: People, settings: object
) -> None:
    settings.API_KEY_ROTATION_GRACE_HOURS = 2  # type: ignore[attr-defined]
    old_plain = PLAINTEXT.findall(issue(people.admin_client, org, name="r", scopes=["metrics:write"]))[0].decode()
    old = ApiKey.objects.get(name="r")
    response = people.admin_client.post(f"/o/{org.slug}/settings/keys/{old.pk}/rotate/")
    assert response.status_code == 200 and b"API key rotated" in response.content
    new_plain = PLAINTEXT.findall(response.content)[0].decode()
    assert new_plain != old_plain
    new = ApiKey.objects.get(rotated_from=old)
    assert new_plain.startswith(new.prefix) and new.scopes == old.scopes
    old.refresh_from_db()
    assert old.expires_at is not None and abs(old.expires_at - (timezone.now() + timedelta(hours=2))) < timedelta(
        minutes=1
    )
    assert write(new_plain, "cpu,device=d1 v=1") == 204 and write(old_plain, "cpu,device=d1 v=2") == 204  # grace
    entry = AuditEntry.objects.get(action="api_key.rotate")
    assert entry.before == {"prefix": old.prefix, "expires_at": None}
    assert entry.after == {"prefix": new.prefix, "old_key_expires_at": old.expires_at.isoformat()}
    # A second rotation of the same key is refused with the reason, and issues nothing.
    again = people.admin_client.post(f"/o/{org.slug}/settings/keys/{old.pk}/rotate/")
    assert again.status_code == 400 and b"This key has already been rotated." in again.content
    assert ApiKey.objects.filter(organization=org).count() == 2


def test_no_audit_entry_holds_a_secret(org: Organization, people: People) -> None:
    page = issue(people.admin_client, org, name="s", scopes=["metrics:write"])
    key = ApiKey.objects.get(name="s")
    people.admin_client.post(f"/o/{org.slug}/settings/keys/{key.pk}/rotate/")
    people.admin_client.post(f"/o/{org.slug}/settings/keys/{key.pk}/revoke/")
    stored = json.dumps(list(AuditEntry.objects.values("before", "after", "target")))
    secret = PLAINTEXT.findall(page)[0].decode().split("_", 2)[2]
    assert secret not in stored
    for k in ApiKey.objects.all():
        assert k.digest not in stored
