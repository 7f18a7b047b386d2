"""Webhooks to a real receiver on loopback that verifies them with standardwebhooks' own Webhook.verify."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from notifications.models import Delivery, WebhookEndpoint
from notifications.outcome import parse_retry_after
from notifications.services import (
    deliveries_run_due,
    delivery_resend,
    webhook_endpoint_enable,
    webhook_endpoint_rotate_secret,
)
from notifications.webhooks import signed_headers
from tests.notifications.helpers import run_concurrently, send
from tests.notify_servers import Reply


def _send(org, url, key="quota:5:2026-06-01:100"):
    payload = {"service": "api", "threshold": 100, "usage_percent": 101.5}
    notification = send(org, dedup_key=key, payload=payload, webhook_urls=[url])
    assert notification is not None
    return notification


def _arm(receiver, org):
    """Give the receiver the endpoint's secret, as a customer copies it from Beacon."""
    receiver.secret = WebhookEndpoint.objects.get(organization=org, url=receiver.url).secret


def test_webhook_is_signed_per_standard_webhooks_and_verifies(org, receiver):
    notification = _send(org, receiver.url)
    _arm(receiver, org)
    assert deliveries_run_due() == 1
    (hook,) = receiver.requests
    assert hook.verify_error == ""
    assert hook.verified == {
        "type": "quota.threshold_crossed",
        "timestamp": notification.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"service": "api", "threshold": 100, "usage_percent": 101.5},
    }
    delivery = Delivery.objects.get()
    assert hook.headers["webhook-id"] == delivery.webhook_msg_id
    assert hook.headers["webhook-signature"].startswith("v1,")
    assert abs(int(hook.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert hook.headers["content-type"] == "application/json"
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("sent", 200, 1)


def test_a_tampered_body_or_a_stale_timestamp_fails_verification(org, receiver):
    _send(org, receiver.url)
    _arm(receiver, org)
    deliveries_run_due()
    (hook,) = receiver.requests
    verifier = Webhook(receiver.secret)
    assert verifier.verify(hook.body, hook.headers)["data"]["threshold"] == 100
    tampered = hook.body.replace(b'"threshold":100', b'"threshold":10')
    assert tampered != hook.body
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verifier.verify(tampered, hook.headers)
    stale = signed_headers(
        secret=receiver.secret,
        msg_id=hook.headers["webhook-id"],
        body=hook.body.decode(),
        timestamp=datetime.now(UTC) - timedelta(minutes=10),
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(hook.body, stale)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook("whsec_" + "QUJD" * 8).verify(hook.body, hook.headers)  # another endpoint's secret


def test_500_then_200_is_one_retry_with_the_same_webhook_id(org, receiver):
    receiver.replies = [Reply(500)]
    _send(org, receiver.url)
    _arm(receiver, org)
    started = timezone.now()
    assert deliveries_run_due() == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.last_error.startswith("HTTP 500")
    assert started + timedelta(seconds=5) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=6.1)
    assert deliveries_run_due() == 0  # the retry is not due yet
    assert deliveries_run_due(now=timezone.now() + timedelta(seconds=7)) == 1
    assert deliveries_run_due(now=timezone.now() + timedelta(days=3)) == 0  # sent: never again
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.webhook_msg_id
    assert first.body == second.body
    assert second.verify_error == ""
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code, delivery.last_error) == ("sent", 2, 200, "")
    log = list(delivery.attempt_log.values_list("number", "ok", "response_code"))
    assert log == [(1, False, 500), (2, True, 200)]


def test_410_disables_the_endpoint_with_the_reason(org, receiver):
    receiver.replies = [Reply(410)]
    _send(org, receiver.url)
    assert deliveries_run_due() == 1
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.enabled is False
    assert "410 Gone" in endpoint.disabled_reason
    assert endpoint.disabled_at is not None
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.next_attempt_at) == ("failed", 410, None)
    # Later notifications to the disabled endpoint fail at once without a request.
    _send(org, receiver.url, key="other")
    assert deliveries_run_due() == 1
    later = Delivery.objects.exclude(pk=delivery.pk).get()
    assert later.status == "failed"
    assert later.last_error.startswith("endpoint disabled: the receiver answered 410 Gone")
    assert len(receiver.requests) == 1
    # Re-enabled and resent: delivered, still under the same webhook-id.
    webhook_endpoint_enable(endpoint=endpoint)
    assert delivery_resend(delivery=later)
    assert deliveries_run_due() == 1
    later.refresh_from_db()
    assert (later.status, later.attempts) == ("sent", 1)
    assert receiver.requests[-1].headers["webhook-id"] == later.webhook_msg_id
    assert later.attempt_log.count() == 2  # the failed attempt is kept in the log


def test_retry_after_is_honoured(org, receiver):
    receiver.replies = [Reply(503, {"Retry-After": "120"})]
    _send(org, receiver.url)
    started = timezone.now()
    deliveries_run_due()
    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at >= started + timedelta(seconds=120)
    assert deliveries_run_due(now=timezone.now() + timedelta(seconds=60)) == 0
    assert deliveries_run_due(now=timezone.now() + timedelta(seconds=121)) == 1
    assert len(receiver.requests) == 2


def test_retry_after_forms():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Thu, 01 Jan 2026 12:02:00 GMT", now=now) == 120
    assert parse_retry_after("99999999", now=now) == 24 * 3600  # capped
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_the_schedule_runs_out_into_failed(org, receiver, settings):
    settings.NOTIFY_RETRY_DELAYS = [1, 2]
    receiver.replies = [Reply(500), Reply(502), Reply(504)]
    _send(org, receiver.url)
    later = timezone.now()
    for step in range(3):
        later += timedelta(seconds=10)
        assert deliveries_run_due(now=later) == 1, step
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, 504)
    assert deliveries_run_due(now=later + timedelta(days=2)) == 0
    assert len(receiver.requests) == 3


def test_connect_time_guard_refuses_a_url_that_now_points_inside(org, receiver, settings):
    _send(org, receiver.url)  # saved while private addresses were allowed
    settings.SCRAPE_ALLOW_PRIVATE = False
    assert deliveries_run_due() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "127.0.0.1 refused" in delivery.last_error
    assert receiver.requests == []


def test_a_rotated_secret_signs_the_next_attempt(org, receiver):
    receiver.replies = [Reply(500)]
    _send(org, receiver.url)
    endpoint = WebhookEndpoint.objects.get()
    old = endpoint.secret
    deliveries_run_due()
    new = webhook_endpoint_rotate_secret(endpoint=endpoint)
    assert new != old and new.startswith("whsec_")
    receiver.secret = new
    deliveries_run_due(now=timezone.now() + timedelta(seconds=10))
    first, second = receiver.requests
    assert second.verify_error == ""
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(first.body, first.headers)
    assert Webhook(old).verify(first.body, first.headers)["type"] == "quota.threshold_crossed"


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_delivery_once(org, receiver):
    for n in range(5):
        _send(org, receiver.url, key=f"k{n}")
    counts = run_concurrently(3, deliveries_run_due)
    assert sum(counts) == 5
    assert sorted(json.loads(h.body)["data"]["service"] for h in receiver.requests) == ["api"] * 5
    assert len({h.headers["webhook-id"] for h in receiver.requests}) == 5
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
