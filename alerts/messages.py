"""The messages of one evaluation: one per rule and kind (firing, resolved, repeat), listing every device.

Fifty devices going offline at once are one email naming fifty; sent at the evaluation that saw the change
(no grouping timer), through notifications/ (email + Standard Webhooks `alert.firing` / `alert.resolved`).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

from alerts.models import AlertRule
from alerts.readings import Reading
from devices.models import Device
from notifications.links import public_url
from notifications.services import notification_send

logger = logging.getLogger(__name__)
EVENT_TYPES = {"firing": "alert.firing", "repeat": "alert.firing", "resolved": "alert.resolved"}
LISTED_IN_EMAIL = 200  # devices named in one email's body; the webhook payload carries them all


def alerts_url(organization_slug: str) -> str:
    return public_url(f"/o/{organization_slug}/alerts/")


def dedup_key(rule_id: int, kind: str, state_ids: list[int], now: datetime) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(state_ids))).encode()).hexdigest()[:16]
    return f"alert:{rule_id}:{kind}:{now.isoformat()}:{digest}"


def _subject(rule: AlertRule, kind: str, items: list[dict[str, Any]]) -> str:
    label = {"firing": "FIRING", "repeat": "STILL FIRING", "resolved": "RESOLVED"}[kind]
    first = items[0]
    who = first["device"] + (f" {first['series']}" if first["series"] else "")
    if len(items) > 1:
        who = f"{len(items)} devices" if len({i["device"] for i in items}) > 1 else f"{first['device']} ({len(items)})"
    return f"[Beacon] {label}: {rule.name}: {who}"


def send(
    rule: AlertRule,
    kind: str,
    state_ids: list[int],
    readings: dict[int, Reading],
    keys: dict[int, tuple[int, str]],
    now: datetime,
) -> int:
    """One notification for these states (1), or nothing (0: none to tell, or its dedup_key was sent)."""
    if not state_ids:
        return 0
    organization = rule.organization
    names = dict(
        (pk, (name, slug))
        for pk, name, slug in Device.objects.filter(id__in={keys[s][0] for s in state_ids}).values_list(
            "id", "name", "slug"
        )
    )
    items = []
    for sid in state_ids:
        device_id, series = keys[sid]
        name, slug = names.get(device_id, (str(device_id), ""))
        reading = readings.get(sid)
        items.append(
            {
                "device": name,
                "series": series,
                "value": reading.value if reading is not None else None,
                "url": public_url(f"/o/{organization.slug}/devices/{slug}/"),
            }
        )
    items.sort(key=lambda i: (i["device"], i["series"]))
    context = {
        "rule": rule,
        "kind": kind,
        "items": items[:LISTED_IN_EMAIL],
        "more": max(0, len(items) - LISTED_IN_EMAIL),
        "count": len(items),
        "unit": "s since last data" if rule.kind == AlertRule.Kind.OFFLINE else "",
        "condition": rule.describe(),
        "organization": organization,
        "url": alerts_url(organization.slug),
        "at": now,
    }
    payload = {
        "rule": {"id": rule.id, "name": rule.name, "kind": rule.kind, "condition": rule.describe()},
        "status": "resolved" if kind == "resolved" else "firing",
        "repeat": kind == "repeat",
        "at": now.isoformat(),
        "count": len(items),
        "devices": items,
        "url": context["url"],
    }
    notification = notification_send(
        organization=organization,
        kind="alert",
        event_type=EVENT_TYPES[kind],
        dedup_key=dedup_key(rule.id, kind, state_ids, now),
        subject=_subject(rule, kind, items),
        text=render_to_string("alerts/email/alert.txt", context),
        html=render_to_string("alerts/email/alert.html", context),
        payload=payload,
        emails=tuple(rule.recipients or ()),
        webhook_urls=(rule.webhook_url,) if rule.webhook_url else (),
    )
    if notification is None:
        return 0
    logger.info("alert rule %s: %s message for %s series", rule.id, kind, len(items))
    return 1
