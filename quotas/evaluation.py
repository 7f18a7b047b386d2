"""After a scrape: for each quota whose usage crossed thresholds, one notification naming the highest.

At most once per threshold per period, however many workers or beats evaluate at once: the
notification's unique `dedup_key` (quota:<id>:<period_start>:<threshold>) is the lock, so of two
evaluations that both decide to notify, one insert wins and the other gets None and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.links import public_url
from notifications.services import notification_send
from quotas.models import Quota
from quotas.status import QuotaStatus, forecast, quota_statuses

logger = logging.getLogger(__name__)
EVENT_TYPE = "quota.threshold_crossed"
_EVALUATION_FIELDS = (
    "id",
    "service_id",
    "period",
    "reset_day",
    "period_seconds",
    "limit_bytes",
    "direction",
    "thresholds",
    "created_at",
    "notified_period_start",
    "notified_thresholds",
)


@dataclass(frozen=True, slots=True)
class Crossing:
    quota_id: int
    threshold: int
    usage_percent: float
    sent: bool  # False: another evaluation had already sent this one


def dedup_key(quota_id: int, period_start: datetime, threshold: int) -> str:
    return f"quota:{quota_id}:{period_start.isoformat()}:{threshold}"


def service_url(organization_slug: str, service_name: str) -> str:
    return public_url(f"/o/{organization_slug}/services/{service_name}/")


def due_threshold(status: QuotaStatus) -> int | None:
    """The highest crossed threshold, if it is above every one already notified this period."""
    crossed = status.crossed()
    if not crossed:
        return None
    highest = crossed[-1]
    if status.notified_thresholds and highest <= max(status.notified_thresholds):
        return None
    return highest


def evaluate_quotas(
    *, service_ids: Iterable[int] | None = None, organization_id: int | None = None, now: datetime | None = None
) -> list[Crossing]:
    now = now or timezone.now()
    # Lean rows for the many quotas that cross nothing; the few that notify load their service below.
    quotas = Quota.objects.only(*_EVALUATION_FIELDS)
    if service_ids is not None:
        quotas = quotas.filter(service_id__in=list(service_ids))
    if organization_id is not None:
        quotas = quotas.filter(service__organization_id=organization_id)
    crossings = []
    for status in quota_statuses(quotas, now=now):
        threshold = due_threshold(status)
        if threshold is None:
            continue
        status.quota = Quota.objects.select_related("service", "service__organization").get(id=status.quota.id)
        sent = _notify(status, threshold, now)
        _remember(status, threshold)
        crossings.append(Crossing(status.quota.id, threshold, status.usage_percent, sent))
    return crossings


def _remember(status: QuotaStatus, threshold: int) -> None:
    """Record the threshold on the quota (the API's `notified_thresholds`); a new period starts the list again."""
    with transaction.atomic():
        quota = Quota.objects.select_for_update().get(id=status.quota.id)
        notified = list(quota.notified_thresholds) if quota.notified_period_start == status.period_start else []
        if threshold not in notified:
            notified = sorted([*notified, threshold])
        Quota.objects.filter(id=quota.id).update(
            notified_period_start=status.period_start, notified_thresholds=notified
        )


def message_context(status: QuotaStatus, threshold: int, now: datetime) -> dict[str, object]:
    quota = status.quota
    service = quota.service
    prediction = forecast(status, now=now)
    return {
        "service": service,
        "organization": service.organization,
        "quota": quota,
        "threshold": threshold,
        "used_bytes": status.used_bytes,
        "limit_bytes": quota.limit_bytes,
        "usage_percent": round(status.usage_percent, 1),
        "period_start": status.period_start,
        "period_end": status.period_end,
        "forecast": prediction,
        "url": service_url(service.organization.slug, service.name),
    }


def _payload(context: dict[str, object], status: QuotaStatus) -> dict[str, object]:
    prediction = context["forecast"]
    quota = status.quota
    return {
        "quota_id": quota.id,
        "service": quota.service.name,
        "kong_service": quota.service.kong_service,
        "direction": quota.direction,
        "period": quota.period,
        "period_start": status.period_start.isoformat(),
        "period_end": status.period_end.isoformat(),
        "threshold": context["threshold"],
        "used_bytes": status.used_bytes,
        "limit_bytes": quota.limit_bytes,
        "usage_percent": context["usage_percent"],
        "forecast_reaches_limit_at": (
            prediction.reaches_limit_at.isoformat() if prediction and prediction.reaches_limit_at else None  # type: ignore[attr-defined]
        ),
        "url": context["url"],
    }


def _notify(status: QuotaStatus, threshold: int, now: datetime) -> bool:
    context = message_context(status, threshold, now)
    quota = status.quota
    period = quota.get_period_display().split(" ")[0].lower()
    subject = (
        f"[Beacon] {quota.service.name}: {context['usage_percent']}% of its {period} "
        f"bandwidth quota used ({threshold}% threshold)"
    )
    notification = notification_send(
        organization=quota.service.organization,
        kind="quota",
        event_type=EVENT_TYPE,
        dedup_key=dedup_key(quota.id, status.period_start, threshold),
        subject=subject,
        text=render_to_string("quotas/email/threshold.txt", context),
        html=render_to_string("quotas/email/threshold.html", context),
        payload=_payload(context, status),
        emails=tuple(quota.recipients),
        webhook_urls=(quota.webhook_url,) if quota.webhook_url else (),
    )
    if notification is None:
        return False
    logger.info("quota %s crossed %s%% (%.1f%% used)", quota.id, threshold, status.usage_percent)
    return True
