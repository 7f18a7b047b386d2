"""The Celery side: `deliver` and the `deliver_due` sweep, and the sweep's beat schedule."""

from __future__ import annotations

from datetime import timedelta

from django_celery_beat.models import PeriodicTask

from notifications import tasks
from notifications.models import Delivery
from portal.periodic_tasks import periodic_tasks_sync
from tests.notifications.helpers import send
from tests.notify_servers import Reply


def _send(org, url):
    return send(org, webhook_urls=[url])


def test_deliver_task_sends_once_and_the_sweep_retries(org, receiver):
    receiver.replies = [Reply(500)]
    _send(org, receiver.url)
    delivery = Delivery.objects.get()
    assert tasks.deliver.apply(args=[delivery.pk]).get() == "pending"
    assert tasks.deliver.apply(args=[delivery.pk]).get() is None  # not due: a duplicate message is a no-op
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at - timedelta(seconds=1))
    assert tasks.deliver_due.apply().get() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert [h.headers["webhook-id"] for h in receiver.requests] == [delivery.webhook_msg_id] * 2


def test_the_sweep_is_scheduled_every_five_seconds(db):
    periodic_tasks_sync()
    row = PeriodicTask.objects.get(name="notifications-deliver-due")
    assert (row.task, row.interval.every, row.interval.period, row.enabled) == (
        "notifications.deliver_due",
        5,
        "seconds",
        True,
    )
