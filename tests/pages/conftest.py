"""Page fixtures: a member of `org` with a signed-in client; a gateway service with a quota and traffic."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Membership, Organization
from quotas.evaluation import evaluate_quotas
from quotas.models import GatewayService, Quota
from quotas.status import quota_statuses
from quotas.usage import Delta, add_usage, store_points
from tests.conftest import require_server

PASSWORD = "pw-for-page-tests"
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor" / "uplot" / "uPlot.iife.min.js"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def member(org: Organization) -> User:
    user = User.objects.create_user(username="cust", password=PASSWORD)
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def member_client(member: User) -> Client:
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def write(issue_key: Any, client_for: Any) -> Any:
    """Write line protocol for an org through the real API; returns nothing, asserts 204."""

    def _write(organization: Organization, body: str) -> None:
        response = client_for(issue_key(organization, ["metrics:write"])).post(
            "/api/v2/write?precision=s", data=body.encode(), content_type="text/plain"
        )
        assert response.status_code == 204, response.content

    return _write


@dataclass
class Gateway:
    """A service with a monthly quota 85 % used, counted as a scrape counts (store points + usage rows)."""

    service: GatewayService
    quota: Quota
    ingress: int
    egress: int
    times: list[datetime]

    @property
    def used(self) -> int:
        return self.ingress + self.egress


# Minutes ago of each counted interval: all in the last hour, so the 1-hour traffic chart holds them all.
GATEWAY_AGES_MIN = [50, 40, 30, 20, 10]
INGRESS_PER_INTERVAL = 100_000
EGRESS_PER_INTERVAL = 1_600_000


def gateway_for(organization: Organization, name: str = "shop") -> Gateway:
    service = GatewayService.objects.create(organization=organization, name=name, kong_service=f"{name}-svc")
    # Two days old: the forecast's 24 h rate is then the counted bytes over a full day.
    GatewayService.objects.filter(id=service.id).update(created_at=timezone.now() - timedelta(days=2))
    service.refresh_from_db()
    total = len(GATEWAY_AGES_MIN) * (INGRESS_PER_INTERVAL + EGRESS_PER_INTERVAL)
    quota = Quota.objects.create(
        service=service, period=Quota.Period.MONTHLY, limit_bytes=total * 100 // 85, recipients=["ops@example.com"]
    )
    now = timezone.now()
    start = quota_statuses([quota], now=now)[0].period_start
    # Early on the 1st of a month the period is younger than an hour: its intervals then start with it.
    times = [max(now - timedelta(minutes=m), start + timedelta(seconds=i + 1)) for i, m in enumerate(GATEWAY_AGES_MIN)]
    deltas = [
        Delta(time=t, service=service.kong_service, route="", direction=direction, value=value)
        for t in times
        for direction, value in (("ingress", INGRESS_PER_INTERVAL), ("egress", EGRESS_PER_INTERVAL))
    ]
    with transaction.atomic():
        store_points(organization_id=organization.id, target_id=1, deltas=deltas)
        add_usage(organization_id=organization.id, deltas=deltas)
    evaluate_quotas(service_ids=[service.id])  # 85 % crosses 80 %: one notification, one email
    return Gateway(service, quota, INGRESS_PER_INTERVAL * len(times), EGRESS_PER_INTERVAL * len(times), times)


@pytest.fixture
def gateway(org: Organization) -> Gateway:
    return gateway_for(org)


@pytest.fixture
def browser() -> Iterator[Any]:
    require_server(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    assert VENDOR.exists(), f"{VENDOR} is missing: run `make venv` (npm ci + scripts/vendor_static.sh)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's chromium, never a downloaded browser build.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()
