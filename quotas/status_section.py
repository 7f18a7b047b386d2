"""The `/api/v1/status` section of this app: the last scrape of each of the organization's targets.

Registered by dotted path in settings.STATUS_SECTIONS (`"scrape": "quotas.status_section.scrape_status"`);
portal/status.py calls it, so portal imports nothing of quotas.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Organization
from quotas.selectors import target_list


def scrape_status(organization: Organization) -> dict[str, Any]:
    targets = [
        {
            "id": t.id,
            "name": str(t),
            "kind": t.kind,
            "enabled": t.enabled,
            "last_scrape_at": t.last_scrape_at.isoformat() if t.last_scrape_at else None,
            "last_success_at": t.last_success_at.isoformat() if t.last_success_at else None,
            "status": "never" if t.last_scrape_at is None else ("error" if t.last_error else "ok"),
            "error": t.last_error or None,
        }
        for t in target_list(organization=organization).order_by("id")
    ]
    return {"scrape_targets": targets}
