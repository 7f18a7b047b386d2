"""Customer pages, server-side: who lands where, what the admin tells a customer, and values shown = stored."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Membership, Organization
from devices import services as devices
from devices.models import Device
from tests.pages.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_signed_out_landing_page_has_a_sign_in_link() -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert 'href="/accounts/login/"' in text(response)
    assert "Sign in" in text(response)


def test_sign_in_sends_a_member_of_one_org_to_its_overview(member: User, org: Organization) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": "cust", "password": PASSWORD}, follow=True)
    assert response.redirect_chain == [("/", 302), (f"/o/{org.slug}/", 302)]
    assert f"<h1>{org.name}</h1>" in text(response)
    assert "Sign out" in text(response) and 'href="/admin/"' not in text(response)  # no admin link for customers


def test_a_member_of_several_orgs_chooses_and_switches_in_the_header(
    member: User, member_client: Client, org: Organization, other_org: Organization
) -> None:
    accounts.membership_grant(user=member, organization=other_org, role=Membership.Role.VIEWER)
    page = text(member_client.get("/"))
    assert "Choose an organization" in page
    assert f'href="/o/{org.slug}/"' in page and f'href="/o/{other_org.slug}/"' in page
    overview = text(member_client.get(f"/o/{other_org.slug}/"))
    # The header's switcher names the current org and links to both.
    assert f"Organization: <strong>{other_org.name}</strong>" in overview
    assert f'href="/o/{org.slug}/"' in overview
    assert f'<a href="/o/{other_org.slug}/" aria-current="page">' in overview


def test_staff_get_an_admin_link_and_every_org(org: Organization, other_org: Organization) -> None:
    staff = User.objects.create_user(username="ops", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)
    page = text(client.get("/"))
    assert 'href="/admin/"' in page
    assert f'href="/o/{org.slug}/"' in page and f'href="/o/{other_org.slug}/"' in page
    assert client.get(f"/o/{other_org.slug}/").status_code == 200  # staff may open any org


def test_a_signed_in_customer_at_the_admin_is_told_where_to_go(member_client: Client, org: Organization) -> None:
    response = member_client.get("/admin/", follow=True)
    assert response.status_code == 403
    page = text(response)
    assert "The admin is for Beacon's staff" in page
    assert f'href="/o/{org.slug}/"' in page
    assert "enter the correct username and password for a staff account" not in page


def test_the_admin_login_form_tells_a_customer_where_they_sign_in(member: User) -> None:
    response = Client().post("/admin/login/?next=/admin/", {"username": "cust", "password": PASSWORD})
    page = text(response)
    assert response.status_code == 200
    assert "cust is not a staff account" in page and "/accounts/login/" in page
    assert "correct username and password for a staff account" not in page
    wrong = text(Client().post("/admin/login/", {"username": "cust", "password": "wrong"}))
    assert "not a staff account" not in wrong  # a wrong password learns nothing about the account


def test_the_admins_view_site_link_is_the_landing_page() -> None:
    admin = User.objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    client.force_login(admin)
    assert '<a href="/">View site</a>' in text(client.get("/admin/"))


def test_pages_require_login(org: Organization, device: Device) -> None:
    for url in (f"/o/{org.slug}/", f"/o/{org.slug}/devices/{device.slug}/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


def test_overview_lists_devices_by_state_labelled_with_last_seen(member_client: Client, org: Organization) -> None:
    now = timezone.now()
    seen = {"a-live": now - timedelta(seconds=30), "b-stale": now - timedelta(minutes=5)}
    seen["c-offline"] = now - timedelta(hours=2)
    for name, when in seen.items():
        devices.device_create(organization=org, name=name)
        Device.objects.filter(organization=org, name=name).update(last_seen_at=when)
    devices.device_create(organization=org, name="d-unseen")
    page = text(member_client.get(f"/o/{org.slug}/"))
    for state in ("live", "stale", "offline", "unseen"):
        assert f'data-state="{state}" data-count="1"' in page
    rows = re.findall(r'<tr data-device="([\w-]+)">.*?class="state state-(\w+)">.*?</span>(\w+)</span>', page)
    assert rows == [
        ("a-live", "live", "live"),
        ("b-stale", "stale", "stale"),
        ("c-offline", "offline", "offline"),
        ("d-unseen", "unseen", "unseen"),
    ]
    for name, when in seen.items():
        assert timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S") in page, name
    assert f'href="/o/{org.slug}/devices/a-live/"' in page


def test_overview_without_devices_says_how_to_install_the_agent(member_client: Client, org: Organization) -> None:
    page = text(member_client.get(f"/o/{org.slug}/"))
    assert "No devices yet" in page
    assert (
        "sudo ./install.sh --url http://testserver --key bcn_&lt;keyid&gt;_&lt;secret&gt; --device &lt;name&gt;" in page
    )


def test_device_page_shows_every_field_with_its_stored_newest_value(
    member_client: Client, org: Organization, device: Device, write: Any
) -> None:
    now = int(time.time())
    write(
        org,
        f"cpu,device={device.name},cpu=cpu-total usage_user=12.5,usage_system=3.25 {now - 20}\n"
        f"cpu,device={device.name},cpu=cpu-total usage_user=42.75,usage_system=7.5 {now - 10}\n"
        f"mem,device={device.name} used_percent=61.125,total=8000000000i {now - 10}\n"
        f'net,device={device.name},interface=eth0 bytes_recv=123456i,up=true,name="uplink" {now - 5}\n',
    )
    page = text(member_client.get(f"/o/{org.slug}/devices/{device.slug}/"))
    cells = dict(re.findall(r'data-latest="([^"]+)">([^<]*)<', page))
    assert cells == {
        "cpu|cpu=cpu-total|usage_system": "7.5",
        "cpu|cpu=cpu-total|usage_user": "42.75",
        "mem||total": "8000000000",
        "mem||used_percent": "61.125",
        "net|interface=eth0|bytes_recv": "123456",
        "net|interface=eth0|name": "uplink",
        "net|interface=eth0|up": "True",
    }
    # Every numeric field can be charted; the page's script gets the org and the device for the API calls.
    config = re.search(r'<script id="page-config" type="application/json">(.*?)</script>', page)
    assert config is not None
    assert '"org": "acme-edge"' in config.group(1) and f'"device": "{device.name}"' in config.group(1)
    assert '"numeric_fields": ["cpu.usage_system", "cpu.usage_user", "mem.total", "mem.used_percent", ' in page
    assert "uPlot.iife.min.js" in page


def test_device_page_without_data_says_how_to_send_some(
    member_client: Client, org: Organization, device: Device
) -> None:
    page = text(member_client.get(f"/o/{org.slug}/devices/{device.slug}/"))
    assert f"No data from {device.name} yet." in page
    assert f"--device {device.name}" in page
    assert "uPlot" not in page  # no charts to draw


def test_another_orgs_pages_and_devices_are_404(
    member_client: Client, org: Organization, other_org: Organization
) -> None:
    theirs = devices.device_create(organization=other_org, name="their-box")
    assert member_client.get(f"/o/{other_org.slug}/").status_code == 404
    assert member_client.get(f"/o/{other_org.slug}/devices/{theirs.slug}/").status_code == 404
    assert member_client.get(f"/o/{org.slug}/devices/{theirs.slug}/").status_code == 404  # mixed: my org, their device
    assert member_client.get("/o/no-such-org/").status_code == 404


def test_series_api_through_the_members_session(
    member_client: Client, org: Organization, device: Device, write: Any
) -> None:
    now = int(time.time())
    write(org, f"disk,device={device.name},path=/ used_percent=40.5,free=99i {now - 3}\n")
    response = member_client.get(f"/api/v1/devices/{device.slug}/series?org={org.slug}")
    assert response.status_code == 200
    body = response.json()
    assert body["device"] == device.name and body["slug"] == device.slug
    assert [(s["measurement"], s["tags"]) for s in body["series"]] == [("disk", {"path": "/"})]
    fields = [(f["name"], f["type"], f["value"]) for f in body["series"][0]["fields"]]
    assert fields == [("free", "int", 99), ("used_percent", "float", 40.5)]
    assert body["series"][0]["fields"][0]["time"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(now - 3)))


def test_password_change_page_changes_the_password(member: User, member_client: Client) -> None:
    page = text(member_client.get("/accounts/password/"))
    assert '<label for="id_old_password">Old password</label>' in page
    new = "a-much-longer-new-secret-42"
    response = member_client.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}, follow=True
    )
    assert "Password changed" in text(response)
    member.refresh_from_db()
    assert member.check_password(new)


def test_sign_out_returns_to_the_landing_page(member_client: Client) -> None:
    response = member_client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert 'href="/accounts/login/"' in text(response)


def test_overview_lists_the_orgs_latest_notifications_with_delivery_counts(
    member_client: Client, org: Organization, other_org: Organization
) -> None:
    from notifications.models import Delivery, Notification

    now = timezone.now()
    for i in range(7):
        Notification.objects.create(
            organization=org,
            kind="test",
            event_type="test.event",
            dedup_key=f"a-{i}",
            subject=f"Quota {i}0 %",
            text="-",
            created_at=now - timedelta(minutes=10 - i),
        )
    newest = Notification.objects.get(dedup_key="a-6")
    Delivery.objects.create(notification=newest, channel="email", email="a@example.com", status="sent")
    Delivery.objects.create(notification=newest, channel="email", email="b@example.com", status="failed")
    Notification.objects.create(
        organization=other_org,
        kind="test",
        event_type="test.event",
        dedup_key="b-1",
        subject="Globex secret",
        text="-",
        created_at=now,
    )
    page = text(member_client.get(f"/o/{org.slug}/"))
    subjects = re.findall(r'<tr data-notification="\d+"> <td>.*?</td> <td>([^<]+)</td>', page)
    assert subjects == ["Quota 60 %", "Quota 50 %", "Quota 40 %", "Quota 30 %", "Quota 20 %"]  # newest 5
    assert '1 of 2 sent, <strong class="failed">1 failed</strong>' in page
    assert "Globex secret" not in page


def test_overview_without_notifications_says_where_they_come_from(member_client: Client, org: Organization) -> None:
    assert "No notifications yet." in text(member_client.get(f"/o/{org.slug}/"))
