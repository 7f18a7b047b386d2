"""Reads for the API and admin, every one scoped to an organization."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from accounts.models import Organization
from notifications.models import Delivery, Notification
from quotas.models import GatewayService, Quota, ScrapeTarget, UsagePeriod
from quotas.periods import monthly_period
from quotas.usage import MEASUREMENT
from timeseries import get_store


def service_list(*, organization: Organization) -> QuerySet[GatewayService]:
    return GatewayService.objects.filter(organization=organization).order_by("name")


def service_get(*, organization: Organization, name: str) -> GatewayService | None:
    return GatewayService.objects.filter(organization=organization, name=name).first()


def month_usage(*, services: list[GatewayService], now: datetime) -> dict[int, UsagePeriod]:
    start, end = monthly_period(now)
    rows = UsagePeriod.objects.filter(service__in=services, start=start, end=end)
    return {row.service_id: row for row in rows}


def quota_list(*, organization: Organization) -> QuerySet[Quota]:
    return (
        Quota.objects.filter(service__organization=organization)
        .select_related("service", "service__organization")
        .order_by("service__name", "id")
    )


def target_list(*, organization: Organization) -> QuerySet[ScrapeTarget]:
    return ScrapeTarget.objects.filter(organization=organization)


def bandwidth_series(
    *, service: GatewayService, start: datetime, end: datetime, step: timedelta, direction: str | None
) -> dict[tuple[str, str], dict[int, int]]:
    """{(direction, route): {bucket start ns: bytes}} summed over nodes (and consumers) per bucket."""
    tags = {"service": service.kong_service}
    if service.route:
        tags["route"] = service.route
    if direction:
        tags["direction"] = direction
    series = get_store().query(
        tenant=str(service.organization_id),
        measurement=MEASUREMENT,
        fields=["bytes"],
        start=start,
        end=end,
        tags=tags,
        step=step,
        agg="sum",
        group_by=["direction", "route"],
    )
    out: dict[tuple[str, str], dict[int, int]] = {}
    for result in series:
        key = (result.tags.get("direction", ""), result.tags.get("route", ""))
        buckets = out.setdefault(key, {})
        for time_ns, value in result.points:
            if isinstance(value, int | float):
                buckets[time_ns] = buckets.get(time_ns, 0) + int(value)
    return out


def service_notifications(
    *, organization: Organization, service: GatewayService, limit: int = 20
) -> list[Notification]:
    """The service's quota notifications, newest first, with how many deliveries were sent or failed."""
    return list(
        Notification.objects.filter(organization=organization, kind="quota", payload__service=service.name)
        .annotate(
            sent=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.SENT)),
            failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
            total=Count("deliveries"),
        )
        .order_by("-created_at")[:limit]
    )
