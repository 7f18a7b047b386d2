"""What loadtests contributes to other pages: the overview's "running load tests" (settings.OVERVIEW_SECTIONS)
and run windows drawn as bands on the service and device charts (settings.CHART_BANDS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from devices.models import Device
from loadtests import selectors

OVERVIEW_RECENT = 5
MAX_BANDS = 50


def running(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    """The runs in progress, and the last few finished ones, so the section is never a dead end."""
    return {
        "running": list(selectors.running_now(organization=organization)[:20]),
        "recent": list(selectors.run_list(organization=organization).exclude(state="running")[:OVERVIEW_RECENT]),
        "list_url": reverse("loadtest-list-page", kwargs={"org": organization.slug}),
    }


def chart_bands(
    organization: Organization, start: datetime, end: datetime, device: Device | None = None
) -> list[dict[str, Any]]:
    """Each run overlapping [start, end) as {start, end (ISO 8601; a running run ends now), label, url}; on every
    chart, a device's included (`device` is ignored: a run concerns the whole organization)."""
    now = timezone.now()
    bands = []
    for run in selectors.runs_overlapping(organization=organization, start=start, end=end)[:MAX_BANDS]:
        finish = run.ended_at or max(now, run.last_report_at)
        bands.append(
            {
                "start": run.started_at.isoformat(),
                "end": finish.isoformat(),
                "label": f"load test {run.plan} ({run.state})",
                "url": reverse("loadtest-page", kwargs={"org": organization.slug, "run": run.uuid}),
            }
        )
    return bands
