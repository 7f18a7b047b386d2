"""Real Celery: two beats and two workers on Redis, emails to aiosmtpd, webhooks verified with standardwebhooks.

Twenty devices stop sending: one offline email naming twenty and one `alert.firing` webhook; they send again:
one resolved email and one `alert.resolved` webhook — however many evaluations the two beats start meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import AlertEvent, AlertRule
from devices.models import Device
from notifications.models import Notification, WebhookEndpoint
from portal.periodic_tasks import periodic_tasks_sync
from tests.celery_fixtures import Broker, CeleryProcess, CeleryStarter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture
def celery_broker(redis_broker: Broker) -> Broker:
    return redis_broker  # the production broker only


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, *logs: CeleryProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.role}\n{p.log()[-3000:]}" for p in logs)
            pytest.fail(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.3)


def test_two_beats_two_workers_each_message_exactly_once(
    org: Any, make_devices: Any, celery_producer: Broker, start_celery: CeleryStarter,
    smtp_server: Any, receiver: Any,
) -> None:  # fmt: skip
    made = make_devices(20, seen=timezone.now())
    make_devices(2, prefix="steady", seen=timezone.now() + timedelta(hours=1))  # "seen" all along
    endpoint = WebhookEndpoint.objects.create(organization=org, url=receiver.url)
    receiver.secret = endpoint.secret
    AlertRule.objects.create(
        organization=org, name="offline", kind="offline", grace_seconds=3, for_seconds=2,
        recipients=["noc@example.com"], webhook_url=receiver.url, device_pattern="edge-*",
    )  # fmt: skip
    periodic_tasks_sync(
        definitions={
            "alerts-evaluate": {"task": "alerts.evaluate", "schedule": 1},
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
    processes = start_celery.all(["worker", "worker", "beat", "beat"], celery_producer, env=env)
    _wait_for(lambda: len(smtp_server.messages) >= 1, 60, "the firing email", *processes)
    _wait_for(lambda: len(receiver.requests) >= 1, 30, "the firing webhook", *processes)
    time.sleep(6)  # a dozen more evaluations from each beat: nothing more may be sent
    assert [m.message["Subject"] for m in smtp_server.messages] == ["[Beacon] FIRING: offline: 20 devices"]
    Device.objects.filter(id__in=[d.id for d in made]).update(last_seen_at=timezone.now() + timedelta(hours=1))
    _wait_for(lambda: len(smtp_server.messages) >= 2, 60, "the resolved email", *processes)
    _wait_for(lambda: len(receiver.requests) >= 2, 30, "the resolved webhook", *processes)
    time.sleep(6)
    assert [m.message["Subject"] for m in smtp_server.messages] == [
        "[Beacon] FIRING: offline: 20 devices",
        "[Beacon] RESOLVED: offline: 20 devices",
    ]
    body = smtp_server.messages[0].part("text/plain")
    assert all(f"- {d.name}:" in body for d in made) and "steady" not in body
    assert [h.verify_error for h in receiver.requests] == ["", ""]
    events = [h.verified for h in receiver.requests]
    assert [e["type"] for e in events] == ["alert.firing", "alert.resolved"]
    assert [e["data"]["count"] for e in events] == [20, 20]
    assert sorted(d["device"] for d in events[0]["data"]["devices"]) == [d.name for d in made]
    assert events[0]["data"]["url"] == f"https://beacon.example.com/o/{org.slug}/alerts/"
    assert Notification.objects.count() == 2
    assert AlertEvent.objects.filter(kind="firing").count() == AlertEvent.objects.filter(kind="resolved").count() == 20
    beats = [p for p in processes if p.role == "beat"]
    for beat in beats:  # both beats really sent evaluations
        beat.wait_for_log(r"Sending due task alerts-evaluate \(alerts\.evaluate\)")
