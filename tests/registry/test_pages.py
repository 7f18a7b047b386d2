"""/o/<org>/gauges/ and the overview's "recent gauges": server-rendered (test client) and in a real browser."""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from accounts import services as accounts
from accounts.models import Membership, Organization
from tests.pages.conftest import SHOTS, browser  # noqa: F401 - the Playwright fixture

pytestmark = pytest.mark.django_db


def test_gauges_page_lists_values_and_filters(org: Organization, other_org: Organization, gauges: Any) -> None:
    gauges.post("/api/v1/gauges/spiders_running", data="spiders", content_type="text/plain")
    gauges.put("/api/v1/gauges/spiders_running", data="12", content_type="text/plain")
    gauges.post("/api/v1/gauges/time_wasted", data="wasted", content_type="text/plain")
    gauges.put("/metrics/job/crawler", data="pages 3\n", content_type="text/plain")
    user = User.objects.create_user(username="viewer", password="pw")
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    client = Client()
    client.force_login(user)
    page = client.get(f"/o/{org.slug}/gauges/").content.decode()
    assert 'data-gauge="spiders_running"' in page and 'data-value="12.0"' in page and "time_wasted" in page
    assert "crawler" in page  # the pushed group
    filtered = client.get(f"/o/{org.slug}/gauges/?name=spider").content.decode()
    assert "spiders_running" in filtered and "time_wasted" not in filtered
    overview = client.get(f"/o/{org.slug}/").content.decode()
    assert 'data-section="gauges"' in overview and "spiders_running" in overview
    assert client.get(f"/o/{other_org.slug}/gauges/").status_code == 404


def test_overview_leaves_the_section_out_without_gauges(org: Organization) -> None:
    user = User.objects.create_user(username="viewer", password="pw")
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    client = Client()
    client.force_login(user)
    assert 'data-section="gauges"' not in client.get(f"/o/{org.slug}/").content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
def test_gauges_page_in_a_browser(live_server: Any, browser: Any, settings: Any, monkeypatch: Any) -> None:  # noqa: F811
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.RATELIMIT_ENABLE = False
    org = accounts.organization_create(name="Gauge Org")
    user = User.objects.create_user(username="customer", password="customer-pw-123")
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    key = accounts.api_key_issue(organization=org, name="w", scopes=["gauges:write"]).plaintext
    auth = {"Authorization": f"Bearer {key}"}
    for name, value in [("queue_depth", "7"), ("kills_total", "41")]:
        assert requests.post(f"{live_server.url}/api/v1/gauges/{name}", data=name, headers=auth, timeout=10).ok
        assert requests.put(f"{live_server.url}/api/v1/gauges/{name}", data=value, headers=auth, timeout=10).ok
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/accounts/login/?next=/o/{org.slug}/")
    page.get_by_label("Username").fill("customer")
    page.get_by_label("Password").fill("customer-pw-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/o/{org.slug}/")
    recent = page.locator('section[data-section="gauges"] tr[data-gauge]')
    assert sorted(recent.evaluate_all("rows => rows.map(r => r.dataset.gauge)")) == ["kills_total", "queue_depth"]
    page.get_by_role("link", name="Gauges", exact=True).click()
    page.wait_for_url(f"{live_server.url}/o/{org.slug}/gauges/")
    rows = page.locator("table.gauges tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => [r.dataset.gauge, r.querySelector('td.num').dataset.value])") == [
        ["kills_total", "41.0"],
        ["queue_depth", "7.0"],
    ]
    page.get_by_label("Name contains").fill("queue")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/gauges/?name=queue")
    assert page.locator("table.gauges tbody tr").evaluate_all("rows => rows.map(r => r.dataset.gauge)") == [
        "queue_depth"
    ]
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=str(SHOTS / "gauges.png"), full_page=True)
    assert errors == []
