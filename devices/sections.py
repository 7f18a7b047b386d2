"""The devices section of the organization overview (settings.OVERVIEW_SECTIONS)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest

from accounts.models import Organization
from devices.selectors import STATES, device_list

STATE_HELP = {
    "live": "sent data recently",
    "stale": "quiet for a while",
    "offline": "silent past the offline threshold",
    "unseen": "never sent data",
}


def overview(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    """Devices by state (live first, never-seen last), with counts and, when there are none, how to start."""
    devices = list(device_list(organization=organization))
    rank = {state: i for i, state in enumerate(STATES)}
    devices.sort(key=lambda d: (rank[d.state], d.name))  # type: ignore[attr-defined]
    counts = dict.fromkeys(STATES, 0)
    for device in devices:
        counts[device.state] += 1  # type: ignore[attr-defined]
    return {
        "devices": devices,
        "counts": [(state, counts[state], STATE_HELP[state]) for state in STATES],
        "stale_after": _duration(organization.stale_after),
        "offline_after": _duration(organization.offline_after),
        "portal_url": request.build_absolute_uri("/").rstrip("/"),
    }


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
