"""The service page, the overview's quota bars and the chart bands, server-side: values shown = values stored."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Organization
from notifications.models import Delivery
from quotas.models import GatewayService
from tests.pages import band_sources
from tests.pages.conftest import Gateway, gateway_for

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def attr(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found, name
    return found.group(1)


def test_the_service_page_shows_this_periods_usage_forecast_and_notifications(
    member_client: Client, org: Organization, gateway: Gateway
) -> None:
    response = member_client.get(f"/o/{org.slug}/services/shop/")
    assert response.status_code == 200
    page = text(response)
    assert "<h1>shop</h1>" in page and "Kong service <code>shop-svc</code>, every route" in page
    quota = gateway.quota
    # The quota's figures, as the scrape counted them: 8.5 MB of 10.0 MB, 85 %, past the 80 % threshold.
    assert f'data-quota="{quota.id}" data-used="{gateway.used}" data-limit="{quota.limit_bytes}"' in page
    assert gateway.used == 8_500_000 and quota.limit_bytes == 10_000_000
    assert '<strong>8.5 MB</strong> of 10.0 MB (<span class="quota-percent">85.0 %</span>, past 80 %)' in page
    assert 'aria-valuenow="85.0"' in page and "Monthly total quota" in page
    # This calendar month, by direction.
    assert '<span data-month="ingress">500.0 KB</span> in' in page
    assert '<span data-month="egress">8.0 MB</span> out' in page
    # The period's end and the forecast: the remaining 1.5 MB at the last 24 h's rate (8.5 MB a day).
    status_end = attr(page, "Period ends <time datetime")
    assert datetime.fromisoformat(status_end).day == 1  # a monthly quota with reset day 1
    rate = gateway.used / 86400
    assert f"({rate:.0f} B/s)" in page
    reaches = re.search(r'the limit is reached <time datetime="([^"]+)"', page)
    assert reaches, page
    expected = timezone.now() + timedelta(seconds=(quota.limit_bytes - gateway.used) / rate)
    assert abs((datetime.fromisoformat(reaches.group(1)) - expected).total_seconds()) < 120
    # The notification the 80 % crossing sent, with its delivery (one email, queued for the worker).
    delivery = Delivery.objects.get(notification__organization=org)
    assert (delivery.email, delivery.status) == ("ops@example.com", Delivery.Status.PENDING)
    assert f'data-notification="{delivery.notification_id}"' in page
    assert "shop: 85.0% of its monthly bandwidth quota used (80% threshold)" in page
    assert "0 of 1 sent" in page
    # The page's script gets the quota for its charts; no key is in the page.
    assert f'"limit_bytes": {quota.limit_bytes}' in page and "bcn_" not in page


def test_a_service_without_quota_or_notifications_says_what_to_do(member_client: Client, org: Organization) -> None:
    GatewayService.objects.create(organization=org, name="maps", kong_service="maps-svc")
    page = text(member_client.get(f"/o/{org.slug}/services/maps/"))
    assert "No quota on this service yet. Your administrator sets one in the admin (Quotas)" in page
    assert "No notifications for maps yet." in page
    assert '<span data-month="ingress">0 B</span>' in page


def test_another_orgs_service_and_an_unknown_one_are_404(
    member_client: Client, org: Organization, other_org: Organization
) -> None:
    gateway_for(other_org, "their-shop")
    assert member_client.get(f"/o/{org.slug}/services/their-shop/").status_code == 404
    assert member_client.get(f"/o/{other_org.slug}/services/their-shop/").status_code == 404
    assert member_client.get(f"/o/{org.slug}/services/nope/").status_code == 404
    assert Client().get(f"/o/{org.slug}/services/nope/").status_code == 302  # signed out: the sign-in form


def test_the_overview_shows_each_service_with_its_quota_bar(
    member_client: Client, org: Organization, gateway: Gateway
) -> None:
    GatewayService.objects.create(organization=org, name="maps", kong_service="maps-svc")
    page = text(member_client.get(f"/o/{org.slug}/"))
    assert (
        page.index('data-section="devices"')
        < page.index('data-section="quotas"')
        < page.index('data-section="notifications"')
    )
    assert f'<a href="/o/{org.slug}/services/shop/">shop</a>' in page
    assert f'data-quota="{gateway.quota.id}" data-used="8500000" data-limit="10000000" data-percent="85.0"' in page
    assert 'class="quota quota-warn"' in page and 'style="width: 85.0%"' in page
    assert "Period ends" in page and "the limit is reached" in page
    assert f'<a href="/o/{org.slug}/services/maps/">maps</a>' in page
    assert "No quota on this service; 0 B this month." in page


def test_an_overview_without_services_says_who_adds_them(member_client: Client, org: Organization) -> None:
    page = text(member_client.get(f"/o/{org.slug}/"))
    assert "No gateway services yet. Your administrator adds your Kong services" in page


def test_the_header_navigation_marks_the_current_page(member_client: Client, org: Organization) -> None:
    page = text(member_client.get(f"/o/{org.slug}/"))
    nav = page[page.index('<nav class="org-nav" aria-label="Organization pages">') :]
    assert nav.startswith(
        f'<nav class="org-nav" aria-label="Organization pages"> <ul> <li><a href="/o/{org.slug}/" aria'
    )
    assert f'<li><a href="/o/{org.slug}/" aria-current="page">Overview</a></li>' in nav
    GatewayService.objects.create(organization=org, name="maps", kong_service="maps-svc")
    page = text(member_client.get(f"/o/{org.slug}/services/maps/"))
    assert f'<li><a href="/o/{org.slug}/">Overview</a></li>' in page  # below the overview, not on it
    assert "org-nav" not in text(member_client.get("/accounts/password/"))  # no organization in the URL


def test_chart_bands_come_from_every_registered_source_in_order(
    member_client: Client, org: Organization, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CHART_BANDS = [
        "tests.pages.band_sources.broken",
        "tests.pages.band_sources.runs",
        "tests.pages.band_sources.malformed",
    ]
    band_sources.CALLS.clear()
    with caplog.at_level(logging.ERROR, logger="portal.pages.bands"):
        response = member_client.get(
            f"/o/{org.slug}/chart-bands", {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T20:00:00Z"}
        )
    assert response.status_code == 200
    body = response.json()
    window = (datetime.fromisoformat("2026-11-20T10:00:00+00:00"), datetime.fromisoformat("2026-11-20T20:00:00+00:00"))
    assert [(org.slug, *window)] == band_sources.CALLS
    # Sorted by start; a running band ends at the window's end; the broken and malformed sources are left out.
    assert body["bands"] == [
        {
            "start": "2026-11-20T11:00:00+00:00",
            "end": "2026-11-20T13:00:00+00:00",
            "label": f"run 1 of {org.slug}",
            "url": f"/o/{org.slug}/runs/1/",
        },
        {
            "start": "2026-11-20T19:00:00+00:00",
            "end": "2026-11-20T20:00:00+00:00",
            "label": "run 2 (running)",
            "url": f"/o/{org.slug}/runs/2/",
        },
    ]
    failed = [r.getMessage() for r in caplog.records]
    assert failed == [
        "chart band source tests.pages.band_sources.broken failed; its bands are left out",
        "chart band source tests.pages.band_sources.malformed failed; its bands are left out",
    ]


def test_chart_bands_refuse_bad_times_and_other_orgs(
    member_client: Client, member: User, org: Organization, other_org: Organization, settings: Any
) -> None:
    settings.CHART_BANDS = ["tests.pages.band_sources.runs"]
    response = member_client.get(f"/o/{org.slug}/chart-bands", {"start": "yesterday"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("parameter 'start': 'yesterday' is not a time")
    response = member_client.get(f"/o/{org.slug}/chart-bands", {"start": "-1h", "end": "-2h"})
    assert response.status_code == 400 and "is not before end" in response.json()["message"]
    assert member_client.get(f"/o/{other_org.slug}/chart-bands").status_code == 404
    assert Client().get(f"/o/{org.slug}/chart-bands").status_code == 302
    # Without sources: no bands (the setting's default).
    settings.CHART_BANDS = []
    assert member_client.get(f"/o/{org.slug}/chart-bands").json()["bands"] == []
    accounts.membership_grant(user=member, organization=other_org, role="viewer")
    assert member_client.get(f"/o/{other_org.slug}/chart-bands").status_code == 200
