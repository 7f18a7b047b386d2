"""The "recent gauges" section of the organization overview (settings.OVERVIEW_SECTIONS)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import Organization
from registry.selectors import recent_gauges


def recent(request: HttpRequest, organization: Organization) -> dict[str, Any] | None:
    """The last few gauges updated; left out while the organization has none."""
    gauges = recent_gauges(organization=organization, limit=5)
    return {"gauges": gauges} if gauges else None
