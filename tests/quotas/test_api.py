"""The bandwidth API: org-scoped, metrics:read, the seed's list shape with null for empty buckets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from quotas.models import GatewayService, Quota
from quotas.scraping import scrape_target

MINUTE = 60


@pytest.fixture
def traffic(shop: GatewayService, kong_node: Callable, make_target: Callable) -> datetime:
    """Bytes at two known minutes of the last hour; returns the first minute's start."""
    node, url = kong_node("3.7")
    target = make_target(url)
    node.add("shop-svc", "checkout", "egress", 1)
    node.add("shop-svc", "", "ingress", 1)
    # On a 5-minute boundary, so the 5m buckets below are exactly [base, base + 5m).
    now = datetime.now(UTC) - timedelta(minutes=15)
    base = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    scrape_target(target.id, now=base + timedelta(seconds=5))
    node.add("shop-svc", "checkout", "egress", 9133)
    node.add("shop-svc", "", "ingress", 70)
    scrape_target(target.id, now=base + timedelta(seconds=30))
    node.add("shop-svc", "checkout", "egress", 67)
    scrape_target(target.id, now=base + timedelta(minutes=3, seconds=1))
    return base


@pytest.mark.django_db
def test_bandwidth_in_the_seeds_shape_with_null_buckets(api: APIClient, traffic: datetime) -> None:
    start = traffic.isoformat()
    end = (traffic + timedelta(minutes=5)).isoformat()
    response = api.get(
        "/api/v1/services/shop/bandwidth", {"start": start, "end": end, "step": "1m", "direction": "egress"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body[0] == {
        "time": traffic.isoformat(),
        "type": "egress",
        "service": "shop",
        "route": "checkout",
        "bandwidth_used": 9133,
    }
    assert [row["bandwidth_used"] for row in body] == [9133, None, None, 67, None]
    both = api.get("/api/v1/services/shop/bandwidth", {"start": start, "end": end, "step": "5m"}).json()
    assert [(r["type"], r["route"], r["bandwidth_used"]) for r in both] == [
        ("egress", "checkout", 9200),
        ("ingress", "", 70),
    ]


@pytest.mark.django_db
def test_no_traffic_gives_every_bucket_null(api: APIClient, shop: GatewayService) -> None:
    body = api.get("/api/v1/services/shop/bandwidth", {"start": "-3m", "step": "1m"}).json()
    assert {(r["type"], r["bandwidth_used"]) for r in body} == {("ingress", None), ("egress", None)}
    assert len(body) in (6, 8)  # 3 or 4 epoch-aligned minutes touched, per direction


@pytest.mark.django_db
def test_bad_parameters_are_400s_naming_them(api: APIClient, shop: GatewayService) -> None:
    cases = {
        "direction": ({"direction": "up"}, "parameter 'direction'"),
        "start": ({"start": "yesterday"}, "parameter 'start'"),
        "step": ({"step": "1s", "start": "-1d"}, "parameter 'step'"),
        "order": ({"start": "-1m", "end": "-2m"}, "is not before end"),
    }
    for params, message in cases.values():
        response = api.get("/api/v1/services/shop/bandwidth", params)
        assert response.status_code == 400 and message in response.json()["message"], response.content


@pytest.mark.django_db
def test_tenancy_and_scope(
    org: Organization, other_org: Organization, issue_key: Callable, client_for: Callable, shop: GatewayService
) -> None:
    theirs = client_for(issue_key(other_org, scopes=["metrics:read"]))
    assert theirs.get("/api/v1/services/shop/bandwidth").status_code == 404
    assert theirs.get("/api/v1/services/").json()["results"] == []
    assert theirs.get("/api/v1/quotas/").json()["results"] == []
    writer = client_for(issue_key(org, scopes=["metrics:write"]))
    for path in ("/api/v1/services/", "/api/v1/services/shop/bandwidth", "/api/v1/quotas/"):
        assert writer.get(path).status_code == 403
        assert APIClient().get(path).status_code in (401, 403)


@pytest.mark.django_db
def test_services_and_quotas_with_usage_and_forecast(api: APIClient, shop: GatewayService, traffic: datetime) -> None:
    quota = Quota.objects.create(service=shop, period="monthly", limit_bytes=100_000, direction="egress")
    # The rate is taken over the service's life when it is younger than 24 h; the fixture's bytes are older.
    GatewayService.objects.filter(id=shop.id).update(created_at=datetime.now(UTC) - timedelta(hours=1))
    services = api.get("/api/v1/services/").json()["results"]
    assert services == [
        {"name": "shop", "kong_service": "shop-svc", "route": "", "month_ingress_bytes": 70, "month_egress_bytes": 9200}
    ]
    [row] = api.get("/api/v1/quotas/").json()["results"]
    # The quota was created after the traffic: its monthly period is the calendar month, which has it all.
    assert row["id"] == quota.id and row["used_bytes"] == 9200 and row["usage_percent"] == 9.2
    assert row["thresholds"] == [80, 90, 100] and row["notified_thresholds"] == []
    forecast = row["forecast"]
    # 9200 egress bytes in the last hour: about 2.56 B/s; the remaining 90,800 B take about 9.9 h.
    assert 2.4 < forecast["rate_bytes_per_second"] < 2.7
    reaches = datetime.fromisoformat(forecast["reaches_limit_at"].replace("Z", "+00:00"))
    assert timedelta(hours=9) < reaches - datetime.now(UTC) < timedelta(hours=11)


@pytest.mark.django_db
def test_member_sessions_read_their_orgs_and_device_keys_are_refused(
    client,
    org: Organization,
    other_org: Organization,
    shop: GatewayService,
    device,
    issue_key,
    client_for,
    django_user_model,
) -> None:  # type: ignore[no-untyped-def]
    from accounts.models import Membership

    user = django_user_model.objects.create_user("mia", password="x")
    Membership.objects.create(user=user, organization=org, role="viewer")
    client.force_login(user)
    assert [s["name"] for s in client.get("/api/v1/services/").json()["results"]] == ["shop"]
    assert client.get("/api/v1/services/shop/bandwidth", {"org": org.slug, "start": "-2m"}).status_code == 200
    assert client.get("/api/v1/quotas/", {"org": other_org.slug}).status_code == 404
    bound = client_for(issue_key(org, scopes=["metrics:read"], device=device))
    refused = bound.get("/api/v1/services/")
    assert refused.status_code == 403 and "device-bound key" in refused.json()["message"]
