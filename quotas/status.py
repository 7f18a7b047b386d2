"""Where each quota stands in its current period: usage, percent, thresholds notified, forecast.

Read in bulk (one query for the quotas, one for their usage rows) so evaluating every quota after a
scrape, the API list and the admin list all cost two queries however many quotas there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from quotas.models import GatewayService, Quota, UsagePeriod
from quotas.periods import quota_period
from quotas.usage import MEASUREMENT
from timeseries import StoreError, get_store

FORECAST_WINDOW = timedelta(hours=24)
_MIN_RATE_WINDOW = timedelta(minutes=1)


@dataclass(slots=True)
class Forecast:
    rate_bytes_per_second: float  # over the last 24 h (or the service's life, if shorter)
    reaches_limit_at: datetime | None  # None: not at this rate (no traffic), or already reached
    within_period: bool  # the limit is reached before the period ends, at this rate


@dataclass(slots=True)
class QuotaStatus:
    quota: Quota
    period_start: datetime
    period_end: datetime
    used_bytes: int
    notified_thresholds: list[int]

    @property
    def usage_percent(self) -> float:
        return 100.0 * self.used_bytes / self.quota.limit_bytes

    def crossed(self) -> list[int]:
        percent = self.usage_percent
        return sorted(t for t in self.quota.thresholds if percent >= t)


def quota_statuses(quotas: QuerySet[Quota] | Iterable[Quota], *, now: datetime | None = None) -> list[QuotaStatus]:
    now = now or timezone.now()
    rows = list(quotas)
    usage: dict[tuple[int, datetime, datetime], tuple[int, int]] = {}
    if rows:
        service_ids = {quota.service_id for quota in rows}
        # Narrow by service and time in SQL, match exact periods in Python (an OR of 10,000 triples is slow to plan).
        candidates = UsagePeriod.objects.filter(service_id__in=service_ids, start__lte=now, end__gt=now).values_list(
            "service_id", "start", "end", "ingress_bytes", "egress_bytes"
        )
        usage = {(sid, start, end): (ingress, egress) for sid, start, end, ingress, egress in candidates}
    statuses = []
    for quota in rows:
        start, end = quota_period(quota, now)
        ingress, egress = usage.get((quota.service_id, start, end), (0, 0))
        direction = quota.direction
        used = ingress if direction == "ingress" else egress if direction == "egress" else ingress + egress
        notified = list(quota.notified_thresholds) if quota.notified_period_start == start else []
        statuses.append(QuotaStatus(quota, start, end, used, notified))
    return statuses


def recent_rate(service: GatewayService, direction: str, *, now: datetime) -> float:
    """Bytes per second over the last 24 h (the service's life if younger), from the time-series store."""
    since = max(now - FORECAST_WINDOW, service.created_at)
    window = max(now - since, _MIN_RATE_WINDOW)
    tags = {"service": service.kong_service}
    if service.route:
        tags["route"] = service.route
    if direction != Quota.Direction.TOTAL:
        tags["direction"] = direction
    series = get_store().query(
        tenant=str(service.organization_id),
        measurement=MEASUREMENT,
        fields=["bytes"],
        start=now - window,
        end=now,
        tags=tags,
        step=timedelta(hours=1),
        agg="sum",
    )
    total = sum(float(v) for s in series for _, v in s.points if isinstance(v, int | float))
    return total / window.total_seconds()


def forecast(status: QuotaStatus, *, now: datetime | None = None) -> Forecast | None:
    """When the limit is reached at the current 24 h rate; None when the store cannot say."""
    now = now or timezone.now()
    try:
        rate = recent_rate(status.quota.service, status.quota.direction, now=now)
    except StoreError:
        return None
    remaining = status.quota.limit_bytes - status.used_bytes
    if remaining <= 0 or rate <= 0:
        return Forecast(rate, None, remaining <= 0)
    reaches = now + timedelta(seconds=remaining / rate)
    return Forecast(rate, reaches, reaches <= status.period_end)
