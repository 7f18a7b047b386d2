"""Counting bytes: deltas to the time-series store and to every current UsagePeriod of each matching service.

Called inside the scrape's transaction (quotas.scraping), so the node's counter snapshot, the usage
totals and (with the sql store) the chart points commit together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from quotas.models import GatewayService, Quota, UsagePeriod
from quotas.periods import monthly_period, quota_period
from timeseries import Point, get_store

MEASUREMENT = "kong_bandwidth"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UPSERT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Delta:
    time: datetime
    service: str  # Kong's service label
    route: str
    direction: str  # ingress | egress
    value: int


def _ns(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def store_points(*, organization_id: int, target_id: int, deltas: Iterable[Delta]) -> int:
    """One point per delta. The `target` tag keeps two nodes scraped at the same instant from overwriting
    each other, and makes a rewritten Prometheus window overwrite its own earlier point."""
    points = []
    for d in deltas:
        tags = {"service": d.service, "direction": d.direction, "target": str(target_id)}
        if d.route:  # the store keeps no empty tag values; an absent route reads back as ""
            tags["route"] = d.route
        points.append(Point(measurement=MEASUREMENT, tags=tags, fields={"bytes": d.value}, time_ns=_ns(d.time)))
    if points:
        get_store().write(tenant=str(organization_id), points=points)
    return len(points)


@dataclass(slots=True)
class _Service:
    id: int
    route: str
    quotas: list[Quota]


def current_periods(quotas: Iterable[Quota], moment: datetime) -> set[tuple[datetime, datetime]]:
    """The calendar month (so every service has a running total) and each quota's period containing `moment`."""
    periods = {monthly_period(moment)}
    periods.update(quota_period(quota, moment) for quota in quotas)
    return periods


def services_by_kong_name(organization_id: int) -> dict[str, list[_Service]]:
    """The org's services by Kong name, with only the quota fields periods need (a scrape may touch thousands)."""
    quotas: defaultdict[int, list[Quota]] = defaultdict(list)
    for quota in Quota.objects.filter(service__organization_id=organization_id).only(
        "id", "service_id", "period", "reset_day", "period_seconds", "created_at"
    ):
        quotas[quota.service_id].append(quota)
    by_name: defaultdict[str, list[_Service]] = defaultdict(list)
    rows = GatewayService.objects.filter(organization_id=organization_id).values_list("id", "kong_service", "route")
    for service_id, kong_service, route in rows:
        by_name[kong_service].append(_Service(service_id, route, quotas.get(service_id, [])))
    return dict(by_name)


def add_usage(*, organization_id: int, deltas: Iterable[Delta]) -> dict[int, tuple[int, int]]:
    """Add each delta to every current period of every service it matches; returns {service id: (in, out)}."""
    services = services_by_kong_name(organization_id)
    totals: defaultdict[tuple[int, datetime, datetime], list[int]] = defaultdict(lambda: [0, 0])
    per_service: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
    periods: dict[tuple[int, datetime], set[tuple[datetime, datetime]]] = {}
    for delta in deltas:
        column = 0 if delta.direction == "ingress" else 1
        # A window ending exactly at midnight belongs to the day it closes.
        moment = delta.time - timedelta(microseconds=1)
        for service in services.get(delta.service, ()):
            if service.route and service.route != delta.route:
                continue
            per_service[service.id][column] += delta.value
            key = (service.id, moment)
            if key not in periods:
                periods[key] = current_periods(service.quotas, moment)
            for start, end in periods[key]:
                totals[(service.id, start, end)][column] += delta.value
    _upsert(totals)
    return {sid: (v[0], v[1]) for sid, v in per_service.items()}


def _upsert(totals: dict[tuple[int, datetime, datetime], list[int]]) -> None:
    """INSERT … ON CONFLICT DO UPDATE with increments: one statement per chunk, atomic per row on both databases."""
    if not totals:
        return
    table = connection.ops.quote_name(UsagePeriod._meta.db_table)
    end_col = connection.ops.quote_name("end")
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    rows = list(totals.items())
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), _UPSERT_CHUNK):
            chunk = rows[offset : offset + _UPSERT_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            params: list[Any] = []
            for (service_id, start, end), (ingress, egress) in chunk:
                params += [service_id, adapt(start), adapt(end), ingress, egress, now]
            # Only our own quoted table/column names are interpolated; every value is a parameter.
            sql = (
                f"INSERT INTO {table} (service_id, start, {end_col}, ingress_bytes, egress_bytes, updated_at) "  # noqa: S608
                f"VALUES {values} ON CONFLICT (service_id, start, {end_col}) DO UPDATE SET "
                f"ingress_bytes = {table}.ingress_bytes + excluded.ingress_bytes, "
                f"egress_bytes = {table}.egress_bytes + excluded.egress_bytes, updated_at = excluded.updated_at"
            )
            cursor.execute(sql, params)
