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
from registry.textformat import help_line

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


def _gauge_families(cursor: Any, organization_id: int, stamp: Any) -> list[tuple[str, str, str, str, int]]:
    """Live gauges as (name, type, help, sample lines, count), one row per name, the lines joined in SQL."""
    line = f"name || rendered_labels || ' ' || CAST(value AS TEXT) || {sql.newline()}"
    cursor.execute(
        f"SELECT name, MIN(kind), COALESCE(MIN(NULLIF(description, '')), ''), {sql.string_agg(line)}, "  # noqa: S608
        f"COUNT(*) FROM {sql.GAUGES} WHERE organization_id = %s AND (expires_at IS NULL OR expires_at > %s) "
        "GROUP BY name",
        [organization_id, stamp],
    )
    return cursor.fetchall()


def _group_families(cursor: Any, organization_id: int, stamp: Any) -> list[tuple[str, str, str, str]]:
    """The live groups' pushed families as (name, type, help, sample lines), one row per name across groups:
    PostgreSQL expands each group's stored families and joins their pre-rendered lines, so Python sees one row
    per metric name, not per group or series."""
    cursor.execute(
        f"SELECT f.key, MIN(f.value ->> 0), COALESCE(MIN(NULLIF(f.value ->> 1, '')), ''), "  # noqa: S608
        f"{sql.string_agg('f.value ->> 2')} FROM {sql.GROUPS} g, {sql.json_each('g.families')} f "
        "WHERE g.organization_id = %s AND (g.expires_at IS NULL OR g.expires_at > %s) GROUP BY f.key",
        [organization_id, stamp],
    )
    return cursor.fetchall()


def _push_times(cursor: Any, organization_id: int, stamp: Any) -> tuple[str, str]:
    """push_time_seconds and push_failure_time_seconds lines of every live group (0 for never)."""

    def lines(metric: str, column: str) -> str:
        value = f"CAST(COALESCE({sql.epoch(column)}, 0) AS TEXT)"
        return sql.string_agg(f"'{metric}' || rendered_labels || ' ' || {value} || {sql.newline()}")

    cursor.execute(
        f"SELECT {lines('push_time_seconds', 'pushed_at')}, {lines('push_failure_time_seconds', 'failed_at')} "  # noqa: S608
        f"FROM {sql.GROUPS} WHERE organization_id = %s AND (expires_at IS NULL OR expires_at > %s)",
        [organization_id, stamp],
    )
    pushed, failed = cursor.fetchone()
    return pushed or "", failed or ""


def exposition(*, organization: Organization) -> str:
    """The organization's gauges and pushed groups in the text format 0.0.4, one family per name (sorted),
    plus push_time_seconds / push_failure_time_seconds per group and the registry's own two gauges.

    Every label set and pushed line is stored rendered, and the database joins them per metric name, so a
    scrape's Python work is per family (HELP/TYPE once across gauges and groups), not per series: 60k series
    are three statements and a join of a few hundred strings. A name has one type across both (types.py).
    """
    now = timezone.now()
    stamp = sql.ts(now)
    families: dict[str, list[Any]] = {}  # name -> [type, help, [chunks]]
    gauges = 0
    with connection.cursor() as cursor:
        for name, kind, text, lines, count in _gauge_families(cursor, organization.id, stamp):
            gauges += count
            families[name] = [kind, text, [lines]]
        for name, kind, text, lines in _group_families(cursor, organization.id, stamp):
            family = families.get(name)
            if family is None:
                families[name] = [kind, text, [lines]]
            else:
                family[1] = family[1] or text
                family[2].append(lines)
        push_times, failure_times = _push_times(cursor, organization.id, stamp)
    out: list[str] = []
    for name in sorted(families):
        kind, text, chunks = families[name]
        if text:
            out.append(help_line(name, str(text)))
        out.append(f"# TYPE {name} {kind}\n")
        out.extend(chunks)
    if push_times:
        out += [help_line("push_failure_time_seconds", PUSH_FAILURE_HELP), "# TYPE push_failure_time_seconds gauge\n"]
        out.append(failure_times)
        out += [help_line("push_time_seconds", PUSH_TIME_HELP), "# TYPE push_time_seconds gauge\n", push_times]
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
