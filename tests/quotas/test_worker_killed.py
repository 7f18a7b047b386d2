"""A real Celery worker's pool child SIGKILLed in the middle of a scrape (acks_late + task_reject_on_worker_lost).

The worker's main process sees the child die (WorkerLostError), rejects the message back to the queue and
runs it again in a new child. Two moments are killed:
- during the HTTP read (the exporter's connection frozen through tests.proxy.TcpProxy): nothing counted yet;
- after the bytes were counted and while the quota's notification is being inserted (the test holds a lock on
  the notification table, so the scrape waits exactly there): the re-run must neither count the bytes again
  nor lose the notification.
Asserted exactly: usage rows, the sum of the stored points, notifications, emails at a real SMTP server.
About 30 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection

from notifications.models import Notification
from quotas.models import GatewayService, Quota, ScrapeTarget
from quotas.scraping import scrape_target
from quotas.tasks import scrape_target as scrape_target_task
from tests.celery_fixtures import Broker, CeleryStarter
from tests.proxy import TcpProxy
from tests.quotas.faults import kill_pool_child, pool_children, stored_bytes, usage, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def celery_broker(redis_broker: Broker) -> Broker:
    return redis_broker


def _dsn() -> str:
    db = connection.settings_dict
    host, port, user = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432, db.get("USER") or "postgres"
    return f"host={host} port={port} user={user} dbname={db['NAME']}"


def _waiting_on_notification_insert() -> bool:
    # A connection of its own: inside a transaction pg_stat_activity is a snapshot taken at first access.
    with psycopg.connect(_dsn(), autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO \"notifications_notification\"%%'"
        ).fetchone()
    return bool(row and row[0])


def test_worker_killed_mid_scrape_reruns_and_counts_every_byte_once(
    celery_producer: Broker,
    start_celery: CeleryStarter,
    shop: GatewayService,
    kong_node: Callable,
    make_target: Callable,
    smtp_server: Any,
) -> None:
    Quota.objects.create(service=shop, period="daily", limit_bytes=10_000, recipients=["noc@example.com"])
    node, url = kong_node("3.7")
    node.add("shop-svc", "checkout", "egress", 1)
    exporter = TcpProxy("127.0.0.1", node.port)
    target: ScrapeTarget = make_target(url.replace(str(node.port), str(exporter.port)), interval_seconds=60)
    assert scrape_target(target.id).ok  # the baseline reading, in this process
    worker = start_celery(
        "worker",
        celery_producer,
        env={
            "SCRAPE_ALLOW_PRIVATE": "1",
            "SCRAPE_TIMEOUT_SECONDS": "60",  # the frozen read must outlast the kill
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_server.port),
        },
    )
    try:
        # 1. Killed while reading the exporter.
        node.add("shop-svc", "checkout", "egress", 9_500)  # 95 %: the 90 % email
        exporter.freeze()
        scrape_target_task.delay(target.id)
        wait_for(lambda: exporter._sockets, 30, "the worker's connection to the exporter", worker)
        first_child = kill_pool_child(worker)
        exporter.restore()
        wait_for(lambda: len(smtp_server.messages) == 1, 60, "the 90 % email after the re-run", worker)
        assert "WorkerLostError" in worker.log()
        assert usage(shop) == [(0, 9_500), (0, 9_500)]  # the month, the day
        assert stored_bytes(shop.organization_id) == 9_500

        # 2. Killed after counting, while inserting the 100 % notification.
        wait_for(lambda: pool_children(worker) and pool_children(worker) != [first_child], 30, "a new child", worker)
        node.add("shop-svc", "checkout", "egress", 1_000)  # 105 %
        with psycopg.connect(_dsn(), autocommit=False) as holder:
            holder.execute("LOCK TABLE notifications_notification IN EXCLUSIVE MODE")  # reads pass, inserts wait
            scrape_target_task.delay(target.id)
            wait_for(lambda: _waiting_on_notification_insert(), 30, "the insert to wait on the lock", worker)
            kill_pool_child(worker)
            time.sleep(0.5)
        wait_for(lambda: len(smtp_server.messages) == 2, 60, "the 100 % email after the re-run", worker)
        time.sleep(2)  # a late duplicate would arrive now
    finally:
        exporter.close()
    assert worker.log().count("WorkerLostError") >= 2
    assert usage(shop) == [(0, 10_500), (0, 10_500)]
    assert stored_bytes(shop.organization_id) == 10_500
    assert sorted(k.rsplit(":", 1)[1] for k in Notification.objects.values_list("dedup_key", flat=True)) == [
        "100",
        "90",
    ]
    subjects = [m.message["Subject"] for m in smtp_server.messages]
    assert len(subjects) == 2
    assert "(90% threshold)" in subjects[0] and "(100% threshold)" in subjects[1], subjects
