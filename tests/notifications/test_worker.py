"""Real processes: a notification enqueued on commit runs on a Celery worker; beat's sweep does the retry."""

from __future__ import annotations

import time

import pytest

from accounts.models import Organization
from notifications.models import Delivery, WebhookEndpoint
from portal.periodic_tasks import periodic_tasks_sync
from tests.celery_fixtures import Broker, CeleryStarter
from tests.notifications.helpers import send
from tests.notify_servers import Reply, WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_delivers_and_beat_sweep_retries(
    celery_producer: Broker, start_celery: CeleryStarter, receiver: WebhookReceiver, org: Organization
) -> None:
    # A one-second sweep and a one-second first retry, so the test need not wait 5 s twice.
    periodic_tasks_sync(definitions={"notifications-deliver-due": {"task": "notifications.deliver_due", "schedule": 1}})
    env = {"NOTIFY_RETRY_DELAYS": "1", "SCRAPE_ALLOW_PRIVATE": "1"}
    worker, beat = start_celery.all(["worker", "beat"], celery_producer, env=env)
    receiver.replies = [Reply(500)]

    send(org, webhook_urls=[receiver.url])  # commits: deliver.delay runs on_commit
    receiver.secret = WebhookEndpoint.objects.get().secret

    deadline = time.monotonic() + 90
    while Delivery.objects.get().status != "sent":
        if time.monotonic() > deadline:
            pytest.fail(f"not delivered\n--- worker\n{worker.log()[-2000:]}\n--- beat\n{beat.log()[-2000:]}")
        time.sleep(0.3)
    delivery = Delivery.objects.get()
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_msg_id
    assert second.verify_error == "" and second.verified["type"] == "quota.threshold_crossed"
    assert list(delivery.attempt_log.values_list("ok", "response_code")) == [(False, 500), (True, 200)]
    # The on-commit message reached the worker (it or a sweep made the first attempt, whichever claimed first).
    worker.wait_for_log(r"Task notifications\.deliver\[[0-9a-f-]+\] succeeded in \S+: ('pending'|None)")
    beat.wait_for_log(r"Sending due task notifications-deliver-due \(notifications\.deliver_due\)")
    time.sleep(2)  # more sweeps: a sent delivery is never sent again
    assert len(receiver.requests) == 2
