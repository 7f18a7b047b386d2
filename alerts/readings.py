"""What one evaluation sees: a reading per (device, series) of a rule, from one query for all its devices.

offline rules read the devices' `last_seen_at` (one SELECT); threshold rules ask the time-series store once
per rule, grouped by device (and the split_by tag), aggregated over the window by the store itself. A
(device, series) without a reading is unknown: its state is left as it is (no resolve for missing data).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models.functions import Coalesce

from alerts.models import OPERATORS, AlertRule
from devices.models import Device
from timeseries import get_store

# The tag ingest stores a point's device name under (named, not imported: ingest is a sibling app).
DEVICE_TAG = "device"
# A rule naming fewer devices than this filters the store query by them; more, and the query reads the
# organization's whole measurement (grouped by device) and drops other devices here: a filter of thousands
# of OR terms costs InfluxDB more than the groups it saves.
DEVICE_FILTER_MAX = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RuleDevice:
    id: int
    name: str
    slug: str
    last_data: datetime  # last seen, or created for a device never seen


@dataclass(frozen=True, slots=True)
class Reading:
    device_id: int
    series: str
    value: float
    bad: bool  # the rule's condition holds against `value`: a problem begins (or continues)
    holding: bool  # the condition holds against the recovery value: a pending/firing state stays


def organization_devices(organization_id: int) -> list[RuleDevice]:
    """Every device of the organization, read once per evaluation cycle and shared by its rules."""
    rows = (
        Device.objects.filter(organization_id=organization_id)
        .annotate(last_data=Coalesce("last_seen_at", "created_at"))
        .values_list("id", "name", "slug", "last_data")
    )
    return [RuleDevice(*row) for row in rows]


def rule_devices(rule: AlertRule, everyone: list[RuleDevice]) -> list[RuleDevice]:
    """The rule's devices: those listed plus those matching the pattern; neither set → all of the org's."""
    listed = {d.id for d in rule.devices.all()}
    if not listed and not rule.device_pattern:
        return everyone
    pattern = rule.device_pattern
    return [d for d in everyone if d.id in listed or (pattern and fnmatch.fnmatchcase(d.name, pattern))]


def offline_readings(rule: AlertRule, devices: list[RuleDevice], now: datetime) -> list[Reading]:
    """Seconds since each device's last data; a device never seen counts from its creation."""
    grace = rule.grace().total_seconds()
    readings = []
    for device in devices:
        silent = (now - device.last_data).total_seconds()
        readings.append(Reading(device.id, "", round(silent, 1), silent >= grace, silent >= grace))
    return readings


def whole_range_step(end: datetime) -> timedelta:
    """A step longer than the time since the epoch: the store's buckets are aligned to the epoch, so every
    point before `end` falls in the one bucket starting at 0, and the store aggregates the whole window."""
    return (end - EPOCH) + timedelta(days=1)


def threshold_readings(rule: AlertRule, devices: list[RuleDevice], now: datetime) -> list[Reading]:
    by_name = {d.name: d.id for d in devices}
    tags = {DEVICE_TAG: sorted(by_name)} if len(by_name) <= DEVICE_FILTER_MAX else None
    if not by_name:
        return []
    group_by = [DEVICE_TAG, *([rule.split_by] if rule.split_by else [])]
    results = get_store().query(
        tenant=str(rule.organization_id),
        measurement=rule.measurement,
        fields=[rule.field],
        start=now - timedelta(seconds=rule.window_seconds),
        end=now,
        tags=tags,
        step=whole_range_step(now),
        agg=rule.aggregation,  # type: ignore[arg-type]
        group_by=group_by,
    )
    compare = OPERATORS[rule.operator]
    threshold = float(rule.value or 0.0)
    recovery = float(rule.recovery_value) if rule.recovery_value is not None else threshold
    readings = []
    for result in results:
        device_id = by_name.get(result.tags.get(DEVICE_TAG, ""))
        if device_id is None or not result.points:
            continue
        raw = result.points[-1][1]  # one bucket: the window's aggregate
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            continue
        value = float(raw)
        series = result.tags.get(rule.split_by, "") if rule.split_by else ""
        readings.append(Reading(device_id, series, value, compare(value, threshold), compare(value, recovery)))
    return readings


def rule_readings(rule: AlertRule, now: datetime, everyone: list[RuleDevice] | None = None) -> list[Reading]:
    """Raises the store's StoreError/StoreUnavailable: the caller records an evaluation error."""
    devices = rule_devices(rule, organization_devices(rule.organization_id) if everyone is None else everyone)
    if rule.kind == AlertRule.Kind.OFFLINE:
        return offline_readings(rule, devices, now)
    return threshold_readings(rule, devices, now)
