"""The firing-alerts section of the organization overview (settings.OVERVIEW_SECTIONS)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import Organization
from alerts import selectors


def overview(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    counts = selectors.state_counts(organization=organization)
    firing = list(selectors.current_states(organization=organization, states=("firing",))[:50])
    selectors.mark_silenced(firing, organization=organization)
    firing = [s for s in firing if not s.shown_silenced][:5]  # type: ignore[attr-defined]
    return {"alert_counts": counts, "firing_alerts": firing, "organization": organization}
