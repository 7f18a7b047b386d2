"""What alerts adds to the shared pages: the overview's firing count (settings.OVERVIEW_SECTIONS), the device
page's alerts (settings.DEVICE_SECTIONS) and the firing periods behind the charts (settings.CHART_BANDS)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest

from accounts.models import Organization
from alerts import selectors
from alerts.models import AlertEvent
from devices.models import Device

# Firing events this long before a chart window are read to find problems still open inside it.
BAND_LOOKBACK = timedelta(days=7)
DEVICE_HISTORY = 20  # events listed on a device page; the alerts page has the organization's whole history


def overview(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    counts = selectors.state_counts(organization=organization)
    firing = list(selectors.current_states(organization=organization, states=("firing",))[:50])
    selectors.mark_silenced(firing, organization=organization)
    firing = [s for s in firing if not s.shown_silenced][:5]  # type: ignore[attr-defined]
    return {"alert_counts": counts, "firing_alerts": firing, "organization": organization}


def device(request: HttpRequest, organization: Organization, device: Device) -> dict[str, Any]:
    """The device page's alerts: its states firing and pending now (silenced marked), and its recent history."""
    states = list(selectors.current_states(organization=organization).filter(device=device))
    selectors.mark_silenced(states, organization=organization)
    history = list(selectors.history(organization=organization).filter(device=device)[:DEVICE_HISTORY])
    return {"states": states, "history": history}


def chart_bands(
    organization: Organization, start: datetime, end: datetime, device: Device | None = None
) -> list[dict[str, Any]]:
    """Firing periods overlapping [start, end) for the pages' charts (settings.CHART_BANDS): each firing event
    paired with the next resolved event of its (rule, device, series); still firing → end None. With `device`
    (the device page's charts), that device's periods only."""
    events = AlertEvent.objects.filter(organization=organization, at__lt=end, at__gte=start - BAND_LOOKBACK)
    if device is not None:
        events = events.filter(device=device)
    events = events.select_related("rule", "device").order_by("at", "id")
    open_: dict[tuple[int, int, str], AlertEvent] = {}
    bands: list[dict[str, Any]] = []

    def band(fired: AlertEvent, until: datetime | None) -> None:
        if until is not None and until <= start:
            return
        series = f" {fired.series}" if fired.series else ""
        bands.append(
            {
                "start": fired.at,
                "end": until,
                "label": f"{fired.rule.name}: {fired.device.name}{series}" + (" (silenced)" if fired.silenced else ""),
                "url": f"/o/{organization.slug}/alerts/",
            }
        )

    for event in events[:5000]:
        key = (event.rule_id, event.device_id, event.series)
        if event.kind == AlertEvent.Kind.FIRING:
            open_[key] = event
        elif key in open_:
            band(open_.pop(key), event.at)
    for fired in open_.values():
        band(fired, None)
    return bands[-100:]
