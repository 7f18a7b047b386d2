"""Settings → Devices: rename, decommission (writes refused with a 403 naming the device, by device-bound and
org-wide keys; history still readable), return to service; all audited."""

from __future__ import annotations

import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEntry, Organization
from devices import services as devices
from devices.models import Device
from tests.settings.conftest import People

pytestmark = pytest.mark.django_db


def _client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_decommissioned_device_writes_are_refused_and_history_stays(
    org: Organization, people: People, issue_key: Any
) -> None:
    device = devices.device_create(organization=org, name="pi-17")
    bound = _client(issue_key(org, ["metrics:write"], device=device))
    org_wide = _client(issue_key(org, ["metrics:write"]))
    reader = _client(issue_key(org, ["metrics:read"]))
    now = int(time.time())
    assert (
        bound.post("/api/v2/write?precision=s", data=f"edge cpu=1 {now - 60}", content_type="text/plain").status_code
        == 204
    )

    response = people.admin_client.post(f"/o/{org.slug}/settings/devices/pi-17/decommission/")
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.decommissioned_at is not None
    for client, body in ((bound, f"edge cpu=2 {now}"), (org_wide, f"edge,device=pi-17 cpu=2 {now}")):
        refused = client.post("/api/v2/write?precision=s", data=body, content_type="text/plain")
        assert refused.status_code == 403, refused.content
        message = refused.json()["message"]
        assert "device 'pi-17' is decommissioned: its writes are refused" in message, message
    # An org-wide write naming it with another device: refused whole, nothing of it stored.
    mixed = org_wide.post(
        "/api/v2/write?precision=s",
        data=f"edge,device=other cpu=5 {now}\nedge,device=pi-17 cpu=5 {now}",
        content_type="text/plain",
    )
    assert mixed.status_code == 403 and mixed.json()["line"] == 2
    assert not Device.objects.filter(organization=org, name="other").exists()
    history = reader.get("/api/v1/history", {"device": "pi-17", "field": "cpu", "start": "-1h", "step": "1m"})
    assert history.status_code == 200, history.content
    assert [p[1] for p in history.json()["series"][0]["points"]] == [1.0]
    page = people.admin_client.get(f"/o/{org.slug}/settings/devices/").content
    assert b"decommissioned" in page and b"Return to service" in page
    entry = AuditEntry.objects.get(action="device.decommission")
    assert entry.before == {"decommissioned_at": None} and entry.after == {
        "decommissioned_at": device.decommissioned_at.isoformat()
    }

    assert people.admin_client.post(f"/o/{org.slug}/settings/devices/pi-17/recommission/").status_code == 302
    assert (
        bound.post("/api/v2/write?precision=s", data=f"edge cpu=3 {now}", content_type="text/plain").status_code == 204
    )
    assert AuditEntry.objects.filter(action="device.recommission").count() == 1


def test_rename_keeps_the_slug_and_is_audited(org: Organization, people: People) -> None:
    devices.device_create(organization=org, name="old-name")
    devices.device_create(organization=org, name="taken")
    response = people.admin_client.post(f"/o/{org.slug}/settings/devices/old-name/rename/", {"name": "New Name"})
    assert response.status_code == 302
    device = Device.objects.get(organization=org, slug="old-name")
    assert device.name == "New Name"
    entry = AuditEntry.objects.get(action="device.rename")
    assert (entry.before, entry.after) == ({"name": "old-name"}, {"name": "New Name"})
    clash = people.admin_client.post(f"/o/{org.slug}/settings/devices/old-name/rename/", {"name": "taken"})
    assert clash.status_code == 400 and b"Another device of this organization is already called" in clash.content
    empty = people.admin_client.post(f"/o/{org.slug}/settings/devices/old-name/rename/", {"name": "  "})
    assert empty.status_code == 400 and b"A device needs a name." in empty.content
    assert Device.objects.get(pk=device.pk).name == "New Name"
