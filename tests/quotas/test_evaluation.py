"""Quota thresholds: one email naming the highest crossed, once per threshold per period, to a real SMTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from notifications.models import Notification
from notifications.services import deliveries_run_due
from quotas.evaluation import evaluate_quotas
from quotas.models import GatewayService, Quota
from quotas.periods import daily_period
from quotas.scraping import scrape_target
from quotas.status import quota_statuses


@pytest.fixture
def metered(shop: GatewayService, kong_node: Callable, make_target: Callable) -> tuple:  # type: ignore[type-arg]
    """A 10,000-byte daily quota on `shop`, a 3.7 node at its baseline."""
    quota = Quota.objects.create(
        service=shop, period="daily", limit_bytes=10_000, direction="total", recipients=["ops@example.com"]
    )
    node, url = kong_node("3.7")
    target = make_target(url)
    node.add("shop-svc", "checkout", "egress", 1)
    node.add("shop-svc", "checkout", "ingress", 1)
    scrape_target(target.id)
    return quota, node, target


def _scrape_and_evaluate(target_id: int, now: datetime | None = None) -> list:  # type: ignore[type-arg]
    """The scrape evaluates the quotas it moved, in its own transaction; a second evaluation finds nothing new."""
    result = scrape_target(target_id, now=now)
    assert evaluate_quotas(service_ids=result.service_ids, now=now) == []
    return result.crossings


@pytest.mark.django_db
def test_70_to_95_percent_in_one_scrape_sends_one_email_naming_90(metered: tuple, smtp_server) -> None:  # type: ignore[no-untyped-def,type-arg]
    quota, node, target = metered
    node.add("shop-svc", "checkout", "egress", 6_000)
    node.add("shop-svc", "checkout", "ingress", 1_000)
    assert _scrape_and_evaluate(target.id) == []  # 70 %: below every threshold
    node.add("shop-svc", "checkout", "egress", 2_500)
    crossings = _scrape_and_evaluate(target.id)
    assert [(c.threshold, c.usage_percent, c.sent) for c in crossings] == [(90, 95.0, True)]
    assert deliveries_run_due() == 1
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail.rcpt_tos == ["ops@example.com"]
    assert mail.message["Subject"] == "[Beacon] shop: 95.0% of its daily bandwidth quota used (90% threshold)"
    text, html = mail.part("text/plain"), mail.part("text/html")
    start, end = daily_period(datetime.now(UTC))
    for body in (text, html):
        assert "9.5 KB of 10.0 KB" in body and "95.0%" in body
        assert f"{end:%Y-%m-%d %H:%M}" in body  # the period end
        assert "https://beacon.example.com/o/acme-edge/services/shop/" in body
    assert "100% reached around" in text and "at the current 24 h rate" in text
    notification = Notification.objects.get()
    assert notification.dedup_key == f"quota:{quota.id}:{start.isoformat()}:90"
    assert notification.payload["threshold"] == 90 and notification.payload["used_bytes"] == 9_500
    assert notification.payload["forecast_reaches_limit_at"] is not None

    # Further scrapes in the same period: no second email for 90 (nor 80); 100 % still alerts.
    node.add("shop-svc", "checkout", "egress", 100)
    assert _scrape_and_evaluate(target.id) == []
    node.add("shop-svc", "checkout", "egress", 400)
    assert [c.threshold for c in _scrape_and_evaluate(target.id)] == [100]
    deliveries_run_due()
    assert [m.message["Subject"].endswith("(100% threshold)") for m in smtp_server.messages] == [False, True]
    assert "the limit is already reached" in smtp_server.messages[1].part("text/plain")
    quota.refresh_from_db()
    assert quota.notified_thresholds == [90, 100] and quota.notified_period_start == start


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_evaluations_send_one_email(metered: tuple, smtp_server) -> None:  # type: ignore[no-untyped-def,type-arg]
    _quota, node, target = metered
    node.add("shop-svc", "checkout", "egress", 8_500)
    assert [c.threshold for c in scrape_target(target.id).crossings] == [80]
    Notification.objects.all().delete()  # forget it: two evaluations now race for the same crossing
    Quota.objects.update(notified_period_start=None, notified_thresholds=[])
    barrier = threading.Barrier(2)
    results: list = []  # type: ignore[type-arg]

    def evaluate() -> None:
        barrier.wait()
        results.append(evaluate_quotas())
        connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Both may decide to notify; the unique dedup_key lets one insert win.
    assert sorted(c.sent for r in results for c in r) in ([False, True], [True])
    assert Notification.objects.count() == 1
    deliveries_run_due()
    assert len(smtp_server.messages) == 1 and "(80% threshold)" in smtp_server.messages[0].message["Subject"]


@pytest.mark.django_db
def test_a_new_period_starts_clean_and_alerts_again(metered: tuple) -> None:  # type: ignore[type-arg]
    quota, node, target = metered
    node.add("shop-svc", "checkout", "egress", 8_200)
    assert [c.threshold for c in _scrape_and_evaluate(target.id)] == [80]
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    [status] = quota_statuses(Quota.objects.filter(id=quota.id), now=tomorrow)
    assert status.used_bytes == 0 and status.notified_thresholds == []
    node.add("shop-svc", "checkout", "egress", 8_100)
    assert [c.threshold for c in _scrape_and_evaluate(target.id, now=tomorrow)] == [80]
    keys = sorted(Notification.objects.values_list("dedup_key", flat=True))
    assert len(keys) == 2 and keys[0] != keys[1] and all(k.endswith(":80") for k in keys)
