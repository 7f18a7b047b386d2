"""Claim a due delivery, make one attempt, record it: the only place a notification leaves Beacon.

A delivery is claimed with a conditional UPDATE (pending and due → sending), so two workers, a task and
the sweep, or two beats can never send it twice. The claim time is the claim's token: the result is
written only if the row still carries it. A worker that dies mid-attempt leaves the row in `sending`;
after CLAIM_STALE_AFTER it is due again (at-least-once: the receiver may see that message twice, with the
same webhook-id, which is what the id is for).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from notifications.email import send_email
from notifications.models import Delivery, DeliveryAttempt, WebhookEndpoint
from notifications.outcome import Outcome, next_attempt_at
from notifications.webhooks import send_webhook
from portal.api import opsmetrics

logger = logging.getLogger(__name__)

# Longer than one attempt can take (15 s webhook timeout; SMTP timeouts per operation).
CLAIM_STALE_AFTER = timedelta(minutes=5)
BATCH = 200
# Label of /-/metrics' beacon_notification_deliveries_total for each status an attempt leaves.
_RESULT = {Delivery.Status.SENT: "sent", Delivery.Status.PENDING: "retry", Delivery.Status.FAILED: "failed"}


def _due(now: datetime) -> Q:
    pending = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=Delivery.Status.SENDING, claimed_at__lt=now - CLAIM_STALE_AFTER)
    return pending | abandoned


def due_delivery_ids(*, now: datetime, limit: int = BATCH) -> list[int]:
    rows = Delivery.objects.filter(_due(now)).order_by("next_attempt_at", "pk").values_list("pk", flat=True)
    return list(rows[:limit])


def _send(delivery: Delivery) -> Outcome:
    if delivery.channel == Delivery.Channel.EMAIL:
        return send_email(delivery)
    return send_webhook(delivery)


def _disable_endpoint(endpoint_id: int, reason: str, now: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=now
    )


def _record(delivery: Delivery, outcome: Outcome, *, claim: datetime, now: datetime, duration_ms: int) -> str:
    attempts = delivery.attempts + 1
    retry_at = None
    if outcome.ok:
        status = Delivery.Status.SENT
    elif outcome.permanent:
        status = Delivery.Status.FAILED
    else:
        retry_at = next_attempt_at(now=now, attempts=attempts, retry_after=outcome.retry_after)
        status = Delivery.Status.PENDING if retry_at else Delivery.Status.FAILED
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING, claimed_at=claim).update(
            status=status,
            attempts=F("attempts") + 1,
            next_attempt_at=retry_at,
            claimed_at=None,
            last_error=outcome.error[:2000],
            response_code=outcome.response_code,
            sent_at=now if outcome.ok else None,
        )
        if not updated:  # reclaimed after going stale; the other worker's result wins
            logger.warning("delivery %s was reclaimed during its attempt; result dropped", delivery.pk)
            return "lost"
        number = (DeliveryAttempt.objects.filter(delivery=delivery).aggregate(n=Max("number"))["n"] or 0) + 1
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=now,
            duration_ms=duration_ms,
            ok=outcome.ok,
            response_code=outcome.response_code,
            error=outcome.error[:2000],
            next_attempt_at=retry_at,
        )
        if outcome.disable_reason and delivery.endpoint_id:
            _disable_endpoint(delivery.endpoint_id, outcome.disable_reason, now)
    opsmetrics.DELIVERIES.labels(delivery.channel, _RESULT[status]).inc()
    log = logger.info if outcome.ok else logger.warning
    # Ids and codes only: addresses, URLs with tokens and payloads stay out of the log.
    log(
        "notification delivery %s attempt %s: %s",
        delivery.pk,
        attempts,
        status,
        extra={"delivery": delivery.pk, "channel": delivery.channel, "response_code": outcome.response_code},
    )
    return status


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Attempt the delivery if it is due and nobody else holds it; the resulting status, or None."""
    now = now or timezone.now()
    claim = timezone.now()
    claimed = Delivery.objects.filter(_due(now), pk=delivery_id).update(
        status=Delivery.Status.SENDING, claimed_at=claim
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("notification", "endpoint").get(pk=delivery_id)
    started = time.monotonic()
    try:
        outcome = _send(delivery)
    except Exception as exc:  # a bug must not leave the row in `sending` until it goes stale
        logger.exception("delivery %s raised", delivery_id)
        outcome = Outcome(ok=False, error=f"internal error: {type(exc).__name__}")
    duration_ms = int((time.monotonic() - started) * 1000)
    return _record(delivery, outcome, claim=claim, now=now, duration_ms=duration_ms)


def run_due(*, now: datetime | None = None) -> int:
    """Attempt every delivery due at `now`, inline; how many attempts were made."""
    now = now or timezone.now()
    done = 0
    seen: set[int] = set()
    while True:
        ids = [pk for pk in due_delivery_ids(now=now) if pk not in seen]
        if not ids:
            return done
        for pk in ids:
            seen.add(pk)
            if delivery_attempt(delivery_id=pk, now=now) is not None:
                done += 1
