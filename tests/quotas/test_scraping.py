"""Scraping real exporters on loopback into UsagePeriod rows and the time-series store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.models import Organization
from quotas.models import CounterSnapshot, GatewayService, Quota, ScrapeTarget, UsagePeriod
from quotas.periods import daily_period, monthly_period
from quotas.scraping import scrape_target, targets_claim_due
from timeseries import get_store


def _usage(service: GatewayService) -> dict[tuple[datetime, datetime], tuple[int, int]]:
    return {(u.start, u.end): (u.ingress_bytes, u.egress_bytes) for u in UsagePeriod.objects.filter(service=service)}


@pytest.mark.django_db(transaction=True)
def test_two_nodes_of_different_generations_sum_and_a_restart_is_counted(
    org: Organization, shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:
    old, old_url = kong_node("2.8")
    new, new_url = kong_node("3.7")
    targets = [make_target(old_url), make_target(new_url)]
    old.add("shop-svc", "checkout", "egress", 10_000)
    new.add("shop-svc", "checkout", "egress", 20_000)
    new.add("shop-svc", "checkout", "ingress", 500, consumer="alice")
    first = [scrape_target(t.id) for t in targets]
    assert [r.ok for r in first] == [True, True] and [r.baselines for r in first] == [1, 2]
    assert sum(r.bytes_counted for r in first) == 0  # first readings are baselines

    old.add("shop-svc", "checkout", "egress", 1_000)
    new.add("shop-svc", "checkout", "egress", 2_000)
    new.add("shop-svc", "checkout", "ingress", 50, consumer="alice")
    new.add("shop-svc", "checkout", "ingress", 7, consumer="bob")  # new series: a baseline
    [scrape_target(t.id) for t in targets]
    month = monthly_period(datetime.now(UTC))
    assert _usage(shop) == {month: (50, 3_000)}

    old.restart()
    old.add("shop-svc", "checkout", "egress", 400)
    result = scrape_target(targets[0].id)
    assert result.resets == 1 and result.bytes_counted == 400
    assert _usage(shop) == {month: (50, 3_400)}
    targets[0].refresh_from_db()
    assert targets[0].last_error == "" and targets[0].last_success_at is not None

    # The same bytes in the store, tagged by service/route/direction, under the org as tenant.
    now = datetime.now(UTC)
    series = get_store().query(
        tenant=str(org.id),
        measurement="kong_bandwidth",
        fields=["bytes"],
        start=now - timedelta(hours=1),
        end=now + timedelta(seconds=1),
        step=timedelta(hours=2),
        agg="sum",
        group_by=["direction"],
    )
    assert {s.tags["direction"]: sum(v for _, v in s.points) for s in series} == {"egress": 3_400, "ingress": 50}


@pytest.mark.django_db(transaction=True)
def test_a_duplicated_or_concurrent_scrape_never_counts_twice(
    shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:
    node, url = kong_node("3.4")
    target = make_target(url)
    node.add("shop-svc", "", "egress", 1)
    scrape_target(target.id)
    node.add("shop-svc", "", "egress", 999)
    results = []

    def run() -> None:
        results.append(scrape_target(target.id))
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.bytes_counted for r in results) == [0, 0, 0, 999]
    scrape_target(target.id)  # and a plain retry afterwards
    assert list(UsagePeriod.objects.values_list("egress_bytes", flat=True)) == [999]
    assert CounterSnapshot.objects.get(target=target).counters == {"shop-svc\x1f\x1fegress\x1f\x1f": 1000.0}


@pytest.mark.django_db
def test_each_current_period_of_the_service_counts_and_routes_select(
    org: Organization, shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:
    Quota.objects.create(service=shop, period="daily", limit_bytes=10**6)
    Quota.objects.create(service=shop, period="monthly", reset_day=1, limit_bytes=10**9)
    checkout_only = GatewayService.objects.create(
        organization=org, name="checkout", kong_service="shop-svc", route="checkout"
    )
    node, url = kong_node("2.0")
    target = make_target(url)
    node.add("shop-svc", "checkout", "ingress", 1)
    node.add("shop-svc", "search", "ingress", 1)
    scrape_target(target.id)
    node.add("shop-svc", "checkout", "ingress", 100)
    node.add("shop-svc", "search", "ingress", 20)
    node.add("other-svc", "x", "egress", 5)  # no service of the org matches: store only
    result = scrape_target(target.id)
    assert result.service_ids == {shop.id, checkout_only.id}
    now = datetime.now(UTC)
    assert _usage(shop) == {daily_period(now): (120, 0), monthly_period(now): (120, 0)}
    assert _usage(checkout_only) == {monthly_period(now): (100, 0)}


@pytest.mark.django_db
def test_another_orgs_target_feeds_only_its_own_services(
    org: Organization, other_org: Organization, shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:
    theirs = GatewayService.objects.create(organization=other_org, name="shop", kong_service="shop-svc")
    node, url = kong_node()
    target = make_target(url, organization=other_org)
    node.add("shop-svc", "", "egress", 1)
    scrape_target(target.id)
    node.add("shop-svc", "", "egress", 10)
    scrape_target(target.id)
    assert _usage(shop) == {}
    assert [u.egress_bytes for u in UsagePeriod.objects.filter(service=theirs)] == [10]


@pytest.mark.django_db
def test_errors_are_recorded_on_the_target_and_logged_once_per_change(
    shop: GatewayService, kong_node: Callable, make_target: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    _node, url = kong_node()
    target = make_target(url.replace("/metrics", "/nope"))
    caplog.set_level("INFO", logger="quotas.scraping")
    for _ in range(3):
        result = scrape_target(target.id)
    assert not result.ok and result.error.startswith("HTTP 404")
    target.refresh_from_db()
    assert target.last_error.startswith("HTTP 404") and target.last_scrape_at and target.last_success_at is None
    assert [r.message for r in caplog.records].count(f"scrape target {target.id} failing: {result.error}") == 1
    ScrapeTarget.objects.filter(id=target.id).update(url=url)
    scrape_target(target.id)
    scrape_target(target.id)
    assert [r.message for r in caplog.records if "recovered" in r.message] == [f"scrape target {target.id} recovered"]


@pytest.mark.django_db
def test_oversized_and_junk_answers_fail_the_scrape_and_count_nothing(
    settings: object, shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:
    node, url = kong_node()
    target = make_target(url)
    for i in range(200):
        node.add(f"svc-{i}", "route", "egress", 10**12)
    settings.SCRAPE_MAX_BYTES = 4096  # type: ignore[attr-defined]
    result = scrape_target(target.id)
    assert not result.ok and "larger than 4096 bytes (SCRAPE_MAX_BYTES)" in result.error
    assert not CounterSnapshot.objects.filter(target=target).exists()


@pytest.mark.django_db
def test_due_targets_are_claimed_once(org: Organization, make_target: Callable) -> None:
    now = datetime.now(UTC)
    due = make_target("http://127.0.0.1:9/metrics", interval_seconds=60)
    make_target("http://127.0.0.1:9/metrics", enabled=False)
    assert targets_claim_due(now=now) == [due.id]
    assert targets_claim_due(now=now) == []  # a second beat in the same tick finds nothing
    assert targets_claim_due(now=now + timedelta(seconds=59.5)) == [due.id]  # 1 s of slack
