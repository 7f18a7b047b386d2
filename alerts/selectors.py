"""Reads of alerts, always given the organization."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from alerts.models import AlertEvent, AlertRule, AlertState, Silence


class ActiveSilences:
    """The organization's silences active at `now` (one query), asked per (rule, device) without another."""

    def __init__(self, organization_id: int, now: datetime) -> None:
        active = Silence.objects.filter(organization_id=organization_id, starts_at__lte=now, ends_at__gt=now)
        self._windows: list[tuple[int | None, set[int]]] = [
            (s.rule_id, {d.id for d in s.devices.all()}) for s in active.prefetch_related("devices")
        ]

    def covers(self, rule_id: int, device_id: int) -> bool:
        return any(
            (rule is None or rule == rule_id) and (not devices or device_id in devices)
            for rule, devices in self._windows
        )


def rule_list(*, organization: Organization) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(organization=organization).prefetch_related("devices").order_by("name", "id")


def rule_get(*, organization: Organization, rule_id: int) -> AlertRule | None:
    return rule_list(organization=organization).filter(id=rule_id).first()


def silence_list(*, organization: Organization) -> QuerySet[Silence]:
    return (
        Silence.objects.filter(organization=organization)
        .select_related("rule", "created_by")
        .prefetch_related("devices")
        .order_by("-starts_at", "-id")
    )


def silence_get(*, organization: Organization, silence_id: int) -> Silence | None:
    return silence_list(organization=organization).filter(id=silence_id).first()


def current_states(
    *, organization: Organization, states: Sequence[str] = ("pending", "firing")
) -> QuerySet[AlertState]:
    """States that are not ok, firing first, then by rule, device and series (a stable order for lists)."""
    return (
        AlertState.objects.filter(rule__organization=organization, rule__enabled=True, state__in=list(states))
        .select_related("rule", "device")
        .order_by("-state", "rule__name", "device__name", "series", "id")  # "pending" < "firing" descending
    )


def mark_silenced(states: Iterable[AlertState], *, organization: Organization, now: datetime | None = None) -> None:
    """Set `shown_silenced` on each: its problem began in a silence, or a silence covers it now."""
    active = ActiveSilences(organization.id, now or timezone.now())
    for state in states:
        state.shown_silenced = state.silenced or active.covers(state.rule_id, state.device_id)  # type: ignore[attr-defined]


def state_counts(*, organization: Organization) -> dict[str, int]:
    states = list(current_states(organization=organization))
    mark_silenced(states, organization=organization)
    counts = {"firing": 0, "pending": 0, "silenced": 0}
    for state in states:
        counts["silenced" if getattr(state, "shown_silenced", False) else state.state] += 1
    return counts


def history(*, organization: Organization, rule_id: int | None = None) -> QuerySet[AlertEvent]:
    events = AlertEvent.objects.filter(organization=organization).select_related("rule", "device")
    if rule_id is not None:
        events = events.filter(rule_id=rule_id)
    return events.order_by("-at", "-id")


def rule_state_counts(*, organization: Organization) -> dict[int, dict[str, int]]:
    rows = (
        AlertState.objects.filter(rule__organization=organization)
        .values("rule_id")
        .annotate(firing=Count("id", filter=Q(state="firing")), pending=Count("id", filter=Q(state="pending")))
    )
    return {row["rule_id"]: {"firing": row["firing"], "pending": row["pending"]} for row in rows}
