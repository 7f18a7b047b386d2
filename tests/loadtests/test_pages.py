"""The load-test pages, the overview's "running load tests" section and the run windows as chart bands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Membership, Organization
from loadtests import sections
from loadtests.models import LoadTestRun
from tests.loadtests.conftest import commit, entry, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(org: Organization) -> Client:
    user = User.objects.create_user(username="viewer", password="pw-for-tests-only")
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    client = Client()
    client.force_login(user)
    return client


def test_list_and_run_page(org: Organization, writer: Any, member_client: Client) -> None:
    done = register(writer, plan="checkout", target_host="http://shop")
    commit(writer, done, [entry("/", "GET", {10: 90, 30: 10}, failures=4), entry("/cart", "POST", {100: 5})])
    running = register(writer, plan="search")
    page = member_client.get(f"/o/{org.slug}/loadtests/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(f'data-run="{running}"') < html.index(f'data-run="{done}"')  # newest first
    assert member_client.get(f"/o/{org.slug}/loadtests/?state=completed").content.decode().count("data-run=") == 1

    run_page = member_client.get(f"/o/{org.slug}/loadtests/{done}/").content.decode()
    assert 'data-endpoint=" Aggregated"' in run_page and 'data-endpoint="POST /cart"' in run_page
    assert "105 requests, 4 failures." in run_page
    for chart in ("rps", "latency", "users"):
        assert f'id="chart-{chart}"' in run_page
    assert "portal/loadtest.js" in run_page


def test_another_orgs_run_page_is_404(
    org: Organization, other_org: Organization, member_client: Client, issue_key: Any, client_for: Any
) -> None:
    theirs = register(client_for(issue_key(other_org, ["loadtests:write"])))
    assert member_client.get(f"/o/{org.slug}/loadtests/{theirs}/").status_code == 404
    assert member_client.get(f"/o/{other_org.slug}/loadtests/{theirs}/").status_code == 404
    assert Client().get(f"/o/{org.slug}/loadtests/").status_code == 302  # sign in first


def test_overview_shows_running_load_tests(org: Organization, writer: Any, member_client: Client) -> None:
    running = register(writer, plan="soak", target_host="http://api", users=25)
    done = register(writer, plan="smoke")
    commit(writer, done, [entry("/", "GET", {5: 1})])
    html = member_client.get(f"/o/{org.slug}/").content.decode()
    assert 'data-section="loadtests"' in html and "Running load tests" in html
    assert f'data-run="{running}"' in html and "25 users" in html
    assert f"/o/{org.slug}/loadtests/{done}/" in html  # recent, finished


def test_chart_bands(org: Organization, other_org: Organization, writer: Any) -> None:
    now = timezone.now()
    old = LoadTestRun.objects.create(
        organization=org,
        plan="old",
        state="completed",
        started_at=now - timedelta(hours=5),
        ended_at=now - timedelta(hours=4),
    )
    inside = LoadTestRun.objects.create(
        organization=org,
        plan="p",
        state="completed",
        started_at=now - timedelta(minutes=50),
        ended_at=now - timedelta(minutes=40),
    )
    LoadTestRun.objects.create(organization=org, plan="live", started_at=now - timedelta(minutes=5))
    LoadTestRun.objects.create(organization=other_org, plan="theirs", started_at=now - timedelta(minutes=5))
    bands = sections.chart_bands(org, now - timedelta(hours=1), now)
    assert [b["label"] for b in bands] == ["load test p (completed)", "load test live (running)"]
    assert bands[0] == {
        "start": inside.started_at.isoformat(),
        "end": inside.ended_at.isoformat(),  # type: ignore[union-attr]
        "label": "load test p (completed)",
        "url": f"/o/{org.slug}/loadtests/{inside.uuid}/",
    }
    assert bands[1]["end"] >= now.isoformat()  # a running run reaches now
    assert old.uuid not in [b["url"] for b in bands]
    from django.conf import settings

    assert "loadtests.sections.chart_bands" in settings.CHART_BANDS
