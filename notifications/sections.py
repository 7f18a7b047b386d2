"""The latest-notifications section of the organization overview (settings.OVERVIEW_SECTIONS)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest

from accounts.models import Organization
from notifications.models import Delivery, Notification

LATEST = 5


def overview(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    """The org's newest notifications, each with how many of its deliveries were sent or failed."""
    latest = (
        Notification.objects.filter(organization=organization)
        .annotate(
            sent=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.SENT)),
            failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
            total=Count("deliveries"),
        )
        .order_by("-created_at")[:LATEST]
    )
    return {"notifications": list(latest)}
