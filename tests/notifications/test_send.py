"""notification_send: one notification per dedup_key (also under concurrency), one delivery per target."""

from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from notifications.models import Delivery, Notification, WebhookEndpoint
from tests.notifications.helpers import run_concurrently, send


def _send(org, dedup_key="quota:1:2026-01-01:80", **overrides):
    targets = {"emails": ["ops@example.com", "cto@example.com"], "webhook_urls": ["https://hooks.example.com/beacon"]}
    return send(org, dedup_key=dedup_key, **{**targets, **overrides})


def test_send_records_the_notification_and_one_delivery_per_target(org, settings):
    notification = _send(org)
    assert notification is not None
    assert (notification.kind, notification.event_type, notification.payload) == (
        "quota.threshold",
        "quota.threshold_crossed",
        {"service": "api", "threshold": 80},
    )
    deliveries = list(notification.deliveries.order_by("channel", "email"))
    assert [(d.channel, d.email, d.status, d.attempts) for d in deliveries] == [
        ("email", "cto@example.com", "pending", 0),
        ("email", "ops@example.com", "pending", 0),
        ("webhook", "", "pending", 0),
    ]
    endpoint = deliveries[2].endpoint
    assert (endpoint.organization, endpoint.url, endpoint.enabled) == (org, "https://hooks.example.com/beacon", True)
    # Standard Webhooks secret form, kept as such: whsec_ + base64 of 32 random bytes.
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) == 32
    assert deliveries[2].webhook_msg_id.startswith("msg_")


def test_the_same_dedup_key_sends_nothing_the_second_time(org):
    assert _send(org) is not None
    assert _send(org, subject="a different subject") is None
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 3


def test_one_endpoint_per_distinct_url_and_duplicates_collapse(org, other_org):
    _send(
        org,
        "k1",
        webhook_urls=["https://a.example.com/h", "https://a.example.com/h"],
        emails=["X@example.com", "x@example.com"],
    )
    _send(org, "k2", webhook_urls=["https://a.example.com/h", "https://b.example.com/h"], emails=[])
    _send(other_org, "k3", webhook_urls=["https://a.example.com/h"], emails=[])
    assert sorted(WebhookEndpoint.objects.values_list("organization__slug", "url")) == [
        ("acme-edge", "https://a.example.com/h"),
        ("acme-edge", "https://b.example.com/h"),
        ("globex", "https://a.example.com/h"),
    ]
    first = Notification.objects.get(dedup_key="k1")
    assert [(d.channel, d.email) for d in first.deliveries.order_by("channel")] == [
        ("email", "X@example.com"),
        ("webhook", ""),
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"emails": ["ok@example.com", "not-an-address"]}, "emails", "'not-an-address' is not an email address"),
        ({"webhook_urls": ["http://169.254.169.254/latest/"]}, "webhook_urls", "link-local/metadata"),
        ({"webhook_urls": ["ftp://example.com/"]}, "webhook_urls", "only http"),
    ],
)
def test_bad_targets_are_refused_and_nothing_is_written(org, overrides, field, message):
    with pytest.raises(ValidationError) as excinfo:
        _send(org, **overrides)
    assert message in " ".join(excinfo.value.message_dict[field])
    assert (Notification.objects.count(), Delivery.objects.count(), WebhookEndpoint.objects.count()) == (0, 0, 0)


def test_a_newline_in_the_subject_cannot_inject_headers(org):
    notification = _send(org, subject="hello\r\nBcc: victim@example.com")
    assert notification.subject == "hello Bcc: victim@example.com"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_make_one_notification(org, settings):
    assert connection.vendor == "postgresql"
    results = run_concurrently(4, lambda: _send(org, "quota:7:2026-03-01:90"))
    assert sum(r is not None for r in results) == 1
    assert results.count(None) == 3
    assert Notification.objects.filter(dedup_key="quota:7:2026-03-01:90").count() == 1
    assert Delivery.objects.count() == 3
    assert WebhookEndpoint.objects.count() == 1
