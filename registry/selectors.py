"""Registry reads, always given the organization; expired gauges and groups are invisible before the prune."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from registry import sql
from registry.models import Gauge, PushGroup
from registry.services import labels_key
from registry.textformat import help_line, render_labels, render_value

ACTIVE_WINDOW = timedelta(hours=1)


def _live(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def gauge_get(*, organization: Organization, name: str, labels: dict[str, str]) -> Gauge | None:
    return (
        Gauge.objects.filter(_live(timezone.now()), organization=organization, name=name, labels_key=labels_key(labels))
        .select_related("updated_by")
        .first()
    )


def gauge_list(*, organization: Organization, name: str = "", kind: str = "") -> QuerySet[Gauge]:
    """Live gauges by name then labels (a stable order for pagination); `name` filters by substring."""
    gauges = Gauge.objects.filter(_live(timezone.now()), organization=organization)
    if name:
        gauges = gauges.filter(name__icontains=name)
    if kind:
        gauges = gauges.filter(kind=kind)
    return gauges.select_related("updated_by").order_by("identity")


def group_list(*, organization: Organization, job: str = "") -> QuerySet[PushGroup]:
    groups = PushGroup.objects.filter(_live(timezone.now()), organization=organization)
    if job:
        groups = groups.filter(labels__job=job)
    return groups.order_by("grouping_key", "id")


def recent_gauges(*, organization: Organization, limit: int = 5) -> list[Gauge]:
    return list(
        Gauge.objects.filter(_live(timezone.now()), organization=organization).order_by("-updated_at", "id")[:limit]
    )


def active_clients(*, organization: Organization, now: datetime) -> int:
    """Distinct keys that updated a gauge or pushed in the last hour (the seed's metric_nexus_clients)."""
    since = sql.ts(now - ACTIVE_WINDOW)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT updated_by_id AS k FROM {sql.GAUGES} WHERE organization_id = %s "  # noqa: S608
            f"AND updated_at > %s AND updated_by_id IS NOT NULL UNION SELECT pushed_by_id FROM {sql.GROUPS} "
            "WHERE organization_id = %s AND pushed_at > %s AND pushed_by_id IS NOT NULL) AS keys",
            [organization.id, since, organization.id, since],
        )
        return int(cursor.fetchone()[0])


PUSH_TIME_HELP = "Last Unix time when changing this group in the Pushgateway succeeded."
PUSH_FAILURE_HELP = "Last Unix time when changing this group in the Pushgateway failed."


def exposition(*, organization: Organization) -> str:
    """The organization's gauges and pushed groups in the text format 0.0.4, one family per name (sorted),
    plus push_time_seconds / push_failure_time_seconds per group and the registry's own two gauges.

    Reads with server-side cursors (PostgreSQL), so 50k series are never one result set in the driver; the
    pushed lines are stored rendered, so a group costs one JSON decode and a string join.
    """
    now = timezone.now()
    stamp = sql.ts(now)
    families: dict[str, list[Any]] = {}  # name -> [type, help, [chunks]]
    gauges = 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT name, labels_key, description, kind, value FROM {sql.GAUGES} WHERE organization_id = %s "  # noqa: S608
            "AND (expires_at IS NULL OR expires_at > %s) ORDER BY name, labels_key",
            [organization.id, stamp],
        )
        for name, key, description, kind, value in cursor:
            gauges += 1
            family = families.get(name)
            if family is None:
                family = families[name] = [kind, description, []]
            family[2].append(f"{name}{render_labels(sql.load_json(key))} {render_value(value)}\n")
    push_times: list[str] = []
    failure_times: list[str] = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT labels, families, {sql.epoch('pushed_at')}, {sql.epoch('failed_at')} FROM {sql.GROUPS} "  # noqa: S608
            "WHERE organization_id = %s AND (expires_at IS NULL OR expires_at > %s) ORDER BY grouping_key",
            [organization.id, stamp],
        )
        for labels, pushed, pushed_at, failed_at in cursor:
            rendered = render_labels(sql.load_json(labels))
            push_times.append(f"push_time_seconds{rendered} {render_value(pushed_at or 0.0)}\n")
            failure_times.append(f"push_failure_time_seconds{rendered} {render_value(failed_at or 0.0)}\n")
            for name, (kind, text, lines) in sql.load_json(pushed).items():
                family = families.get(name)
                if family is None:
                    family = families[name] = [kind, text, []]
                elif not family[1] and text:
                    family[1] = text
                family[2].append(lines)
    out: list[str] = []
    for name in sorted(families):
        kind, text, chunks = families[name]
        if text:
            out.append(help_line(name, str(text)))
        out.append(f"# TYPE {name} {kind}\n")
        out.extend(chunks)
    if push_times:
        out += [help_line("push_failure_time_seconds", PUSH_FAILURE_HELP), "# TYPE push_failure_time_seconds gauge\n"]
        out += failure_times
        out += [help_line("push_time_seconds", PUSH_TIME_HELP), "# TYPE push_time_seconds gauge\n", *push_times]
    clients = active_clients(organization=organization, now=now)
    out += [
        help_line("beacon_registry_active_clients", "API keys that updated a gauge or pushed in the last hour."),
        "# TYPE beacon_registry_active_clients gauge\n",
        f"beacon_registry_active_clients {clients}\n",
        help_line("beacon_registry_gauges", "Gauges stored (not counting pushed groups)."),
        "# TYPE beacon_registry_gauges gauge\n",
        f"beacon_registry_gauges {gauges}\n",
    ]
    return "".join(out)
