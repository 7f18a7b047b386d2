"""Writes for notifications: send (at most once per dedup key), deliver what is due, manage endpoints.

Features (quotas, alerts) call `notification_send()` with the text they rendered; this app owns the
channels, the retries and the delivery log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import escape

from notifications import attempts, tasks
from notifications.links import public_url
from notifications.models import Delivery, Notification, WebhookEndpoint, generate_webhook_secret
from portal import netguard

if TYPE_CHECKING:
    from accounts.models import Organization

logger = logging.getLogger(__name__)


def _clean_emails(emails: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in emails:
        address = raw.strip()
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError({"emails": f"{raw!r} is not an email address"}) from None
        if address.lower() not in {a.lower() for a in cleaned}:
            cleaned.append(address)
    return cleaned


def _clean_urls(urls: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in urls:
        url = raw.strip()
        try:
            netguard.check_url(url)
        except netguard.UnsafeUrl as exc:
            raise ValidationError({"webhook_urls": str(exc)}) from None
        if url not in cleaned:
            cleaned.append(url)
    return cleaned


def _enqueue(delivery_ids: list[int]) -> None:
    # A lost message only delays delivery: the periodic sweep (deliver_due) picks up anything due.
    for delivery_id in delivery_ids:
        try:
            tasks.deliver.delay(delivery_id)
        except Exception:
            logger.warning("could not enqueue delivery %s; the sweep will deliver it", delivery_id, exc_info=True)


def notification_send(
    *,
    organization: Organization,
    kind: str,
    event_type: str,
    dedup_key: str,
    subject: str,
    text: str,
    html: str = "",
    payload: dict,
    emails: Sequence[str] = (),
    webhook_urls: Sequence[str] = (),
) -> Notification | None:
    """Record the notification and one delivery per email and webhook URL; None if `dedup_key` exists.

    The unique dedup_key is the lock: of two concurrent callers exactly one inserts (the other waits on
    the unique index, then gets IntegrityError and returns None). Deliveries are enqueued after commit.
    Bad addresses or refused URLs raise ValidationError before anything is written.
    """
    addresses = _clean_emails(emails)
    urls = _clean_urls(webhook_urls)
    # A newline in a subject is a header injection; Django would refuse the whole message.
    subject = " ".join(subject.split())[:255]
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: losing the race must not poison the caller's transaction
                notification = Notification.objects.create(
                    organization=organization,
                    kind=kind,
                    event_type=event_type,
                    dedup_key=dedup_key,
                    subject=subject,
                    text=text,
                    html=html,
                    payload=payload,
                )
        except IntegrityError:
            if Notification.objects.filter(dedup_key=dedup_key).exists():
                return None
            raise
        deliveries = [
            Delivery(notification=notification, channel=Delivery.Channel.EMAIL, email=address) for address in addresses
        ]
        for url in urls:
            endpoint, _ = WebhookEndpoint.objects.get_or_create(organization=organization, url=url)
            deliveries.append(Delivery(notification=notification, channel=Delivery.Channel.WEBHOOK, endpoint=endpoint))
        created = Delivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in created]
        transaction.on_commit(lambda: _enqueue(ids))
    logger.info(
        "notification %s (%s) queued for %s deliveries",
        notification.pk,
        kind,
        len(ids),
        extra={"org": organization.slug, "notification": notification.pk},
    )
    return notification


def deliveries_run_due(*, now: datetime | None = None) -> int:
    """Deliver every due delivery inline (management commands, the sweep task, tests); attempts made."""
    return attempts.run_due(now=now)


def delivery_resend(*, delivery: Delivery) -> bool:
    """Queue a finished delivery again (same webhook-id), with a fresh retry schedule; False if in flight."""
    queued = Delivery.objects.filter(pk=delivery.pk, status__in=[Delivery.Status.SENT, Delivery.Status.FAILED]).update(
        status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )
    if queued:
        transaction.on_commit(lambda: _enqueue([delivery.pk]))
    return bool(queued)


def notification_resend(*, notification: Notification) -> int:
    """Resend every finished delivery of the notification; how many were queued."""
    return sum(delivery_resend(delivery=d) for d in notification.deliveries.all())


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new signing secret, effective for the next attempt; returns it (it is shown to org admins)."""
    endpoint.secret = generate_webhook_secret()
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    logger.info("webhook endpoint %s secret rotated", endpoint.pk, extra={"endpoint": endpoint.pk})
    return endpoint.secret


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    """Turn a disabled endpoint (410 Gone, or by hand) back on; resend its failed deliveries separately."""
    endpoint.enabled = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at"])


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at"])


def notification_send_test(
    *, organization: Organization, emails: Sequence[str] = (), webhook_urls: Sequence[str] = ()
) -> Notification:
    """A notification that says only that the channels work (type `beacon.test`), never deduplicated."""
    link = public_url(f"/o/{organization.slug}/")
    text = (
        f"This is a test notification from Beacon for {organization.name}.\n\n"
        f"If you can read it, this channel works. Your organization: {link}\n"
    )
    html = (
        f"<p>This is a test notification from Beacon for <strong>{escape(organization.name)}</strong>.</p>"
        f'<p>If you can read it, this channel works. <a href="{escape(link)}">Your organization</a></p>'
    )
    notification = notification_send(
        organization=organization,
        kind="test",
        event_type="beacon.test",
        dedup_key=f"test:{organization.pk}:{uuid.uuid4().hex}",
        subject=f"Beacon test notification for {organization.name}",
        text=text,
        html=html,
        payload={"organization": organization.slug, "message": "test notification", "url": link},
        emails=emails,
        webhook_urls=webhook_urls,
    )
    assert notification is not None  # a fresh uuid never collides
    return notification
