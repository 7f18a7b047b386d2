"""A real Celery beat and worker on Redis: scrape_due → scrape_target → evaluation → one email via aiosmtpd."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from notifications.models import Notification
from portal.periodic_tasks import periodic_tasks_sync
from quotas.models import GatewayService, Quota, ScrapeTarget, UsagePeriod
from tests.celery_fixtures import Broker, CeleryProcess, CeleryStarter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def celery_broker(redis_broker: Broker) -> Broker:
    """This module runs on Redis only (the production broker), not on both brokers."""
    return redis_broker


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, *logs: CeleryProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.role}\n{p.log()[-3000:]}" for p in logs)
            pytest.fail(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.3)


def test_beat_and_worker_scrape_evaluate_and_send_one_email(
    celery_producer: Broker,
    start_celery: CeleryStarter,
    shop: GatewayService,
    kong_node: Callable,
    make_target: Callable,
    smtp_server: Any,
) -> None:
    quota = Quota.objects.create(service=shop, period="daily", limit_bytes=10_000, recipients=["noc@example.com"])
    node, url = kong_node("3.7")
    node.add("shop-svc", "checkout", "egress", 1)
    target: ScrapeTarget = make_target(url, interval_seconds=1)
    # Every second instead of every 10 s, so the test does not wait for the production tick.
    periodic_tasks_sync(
        definitions={
            "quotas-scrape-due": {"task": "quotas.scrape_due", "schedule": 1},
            "notifications-deliver-due": {"task": "notifications.deliver_due", "schedule": 1},
        }
    )
    env = {
        "SCRAPE_ALLOW_PRIVATE": "1",
        "PUBLIC_URL": "https://beacon.example.com",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
    }
    worker, beat = start_celery.all(["worker", "beat"], celery_producer, env=env)

    def scraped() -> bool:
        target.refresh_from_db()
        return target.last_success_at is not None

    _wait_for(scraped, 60, "the first (baseline) scrape", worker, beat)
    node.add("shop-svc", "checkout", "egress", 9_500)  # 95 %: one email, naming 90
    _wait_for(lambda: len(smtp_server.messages) >= 1, 60, "the quota email", worker, beat)
    time.sleep(4)  # several more scrapes and sweeps: nothing may be counted or sent twice
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message.rcpt_tos == ["noc@example.com"]
    assert "95.0%" in message.message["Subject"] and "(90% threshold)" in message.message["Subject"]
    assert "https://beacon.example.com/o/acme-edge/services/shop/" in message.part("text/plain")
    assert [u.egress_bytes for u in UsagePeriod.objects.filter(service=shop)] == [9_500, 9_500]  # day and month
    assert Notification.objects.get().dedup_key.endswith(":90")
    quota.refresh_from_db()
    assert quota.notified_thresholds == [90]
    beat.wait_for_log(r"Sending due task quotas-scrape-due \(quotas\.scrape_due\)")
    worker.wait_for_log(r"Task quotas\.scrape_target\[[0-9a-f-]+\] succeeded")
