"""Band sources for tests, registered in settings.CHART_BANDS by the tests that need them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import Organization

CALLS: list[tuple[str, datetime, datetime]] = []


def runs(organization: Organization, start: datetime, end: datetime, device: Any = None) -> list[dict[str, Any]]:
    """Two runs: one over the window's second tenth to third tenth, one still running since its last tenth."""
    CALLS.append((organization.slug, start, end))
    span = end - start
    return [
        {
            "start": start + span * 0.9,
            "end": None,
            "label": "run 2 (running)",
            "url": f"/o/{organization.slug}/runs/2/",
        },
        {
            "start": (start + span * 0.1).isoformat(),
            "end": (start + span * 0.3).isoformat(),
            "label": f"run 1 of {organization.slug}",
            "url": f"/o/{organization.slug}/runs/1/",
        },
    ]


def broken(organization: Organization, start: datetime, end: datetime, device: Any = None) -> list[dict[str, Any]]:
    raise RuntimeError("band source down")


def malformed(organization: Organization, start: datetime, end: datetime, device: Any = None) -> list[dict[str, Any]]:
    return [{"label": "no start"}]
