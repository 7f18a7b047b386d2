"""Email deliveries to a real SMTP server (aiosmtpd on loopback), content asserted."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from notifications.models import Delivery
from notifications.services import deliveries_run_due, notification_send_test
from tests.notifications.helpers import send


def _send(org, emails, key="quota:3:2026-05-01:90"):
    return send(
        org,
        dedup_key=key,
        subject="api: 90 % of the monthly quota used",
        text="Service api used 90 % (9.0 GB of 10.0 GB).\nhttps://beacon.example.com/o/acme-edge/services/api/",
        html='<p>Service <b>api</b> used 90 %.</p><a href="https://beacon.example.com/o/acme-edge/services/api/">api</a>',
        payload={"service": "api"},
        emails=emails,
    )


def test_email_arrives_with_text_and_html_parts(org, smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "beacon@example.com"
    notification = _send(org, ["ops@example.com", "cto@example.com"])
    assert deliveries_run_due() == 2
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["cto@example.com", "ops@example.com"]
    mail = next(m for m in smtp_server.messages if m.rcpt_tos == ["ops@example.com"])
    assert mail.mail_from == "beacon@example.com"
    assert mail.message["To"] == "ops@example.com"  # one message per address: recipients never see each other
    assert mail.message["Subject"] == "api: 90 % of the monthly quota used"
    assert mail.message["X-Beacon-Notification"] == str(notification.pk)
    assert mail.message.get_content_type() == "multipart/alternative"
    assert "Service api used 90 % (9.0 GB of 10.0 GB)." in mail.part("text/plain")
    assert '<a href="https://beacon.example.com/o/acme-edge/services/api/">api</a>' in mail.part("text/html")
    delivery = Delivery.objects.get(email="ops@example.com")
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert delivery.sent_at is not None
    assert [(a.number, a.ok) for a in delivery.attempt_log.all()] == [(1, True)]
    assert deliveries_run_due() == 0  # sent stays sent
    assert len(smtp_server.messages) == 2


def test_a_refused_recipient_fails_for_good(org, smtp_server):
    smtp_server.refuse.add("gone@example.com")
    _send(org, ["gone@example.com"])
    assert deliveries_run_due() == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.next_attempt_at) == ("failed", None)
    assert "550" in delivery.last_error
    assert smtp_server.messages == []


def test_an_unreachable_smtp_server_is_retried_on_schedule(org, smtp_server, settings):
    settings.EMAIL_PORT = smtp_server.port
    smtp_server.stop()
    before = timezone.now()
    _send(org, ["ops@example.com"])
    assert deliveries_run_due() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert "ConnectionRefusedError" in delivery.last_error
    # First retry after 5 s (+ up to 20 % jitter).
    assert before + timedelta(seconds=5) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=6.1)
    smtp_server.start()  # back on the same port
    assert deliveries_run_due() == 0  # not due yet
    assert deliveries_run_due(now=timezone.now() + timedelta(seconds=7)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert [a.ok for a in delivery.attempt_log.all()] == [False, True]
    assert len(smtp_server.messages) == 1


def test_the_test_notification_links_to_the_public_url(org, smtp_server, settings):
    settings.PUBLIC_URL = "https://beacon.example.com/"
    notification_send_test(organization=org, emails=["ops@example.com"])
    deliveries_run_due()
    (mail,) = smtp_server.messages
    assert mail.message["Subject"] == "Beacon test notification for Acme Edge"
    assert "https://beacon.example.com/o/acme-edge/" in mail.part("text/plain")
    assert 'href="https://beacon.example.com/o/acme-edge/"' in mail.part("text/html")
