"""Reads for organizations and devices; every function is scoped to one org."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, CharField, Count, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Organization
from devices.models import Device

STATES = ("live", "stale", "offline", "unseen")


def _state_expression(now: datetime) -> Case:
    # Thresholds are per org, so the cut-offs are computed in SQL from the joined org row.
    return Case(
        When(last_seen_at__isnull=True, then=Value("unseen")),
        When(Q(last_seen_at__gte=Value(now) - F("organization__stale_after")), then=Value("live")),
        When(Q(last_seen_at__gte=Value(now) - F("organization__offline_after")), then=Value("stale")),
        default=Value("offline"),
        output_field=CharField(),
    )


def _state_rank_expression(now: datetime) -> Case:
    # Sort order for the admin: freshest first, never-seen last.
    return Case(
        When(last_seen_at__isnull=True, then=Value(3)),
        When(Q(last_seen_at__gte=Value(now) - F("organization__stale_after")), then=Value(0)),
        When(Q(last_seen_at__gte=Value(now) - F("organization__offline_after")), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def device_annotate_state(queryset: QuerySet[Device], now: datetime | None = None) -> QuerySet[Device]:
    """Annotate `state` (live/stale/offline/unseen) and `state_rank` (0..3, for sorting) in SQL."""
    now = now or timezone.now()
    return queryset.annotate(state=_state_expression(now), state_rank=_state_rank_expression(now))


def device_list(
    *, organization: Organization, device_id: int | None = None, now: datetime | None = None
) -> QuerySet[Device]:
    """The org's devices (only `device_id` when given: a device-bound key's view), each annotated with `state`."""
    now = now or timezone.now()
    devices = Device.objects.filter(organization=organization)
    if device_id is not None:
        devices = devices.filter(id=device_id)
    return devices.select_related("organization").annotate(state=_state_expression(now)).order_by("name")


def device_counts_by_state(
    *, organization: Organization, device_id: int | None = None, now: datetime | None = None
) -> dict[str, int]:
    counts = dict.fromkeys(STATES, 0)
    devices = device_list(organization=organization, device_id=device_id, now=now)
    rows = devices.order_by().values("state").annotate(n=Count("id"))  # type: ignore[misc]
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts


def device_status(organization: Organization, *, device_id: int | None = None) -> dict[str, int]:
    """The `devices` section of /api/v1/status (settings.STATUS_SECTIONS): counts by state."""
    return device_counts_by_state(organization=organization, device_id=device_id)
