"""What one evaluation sees: a reading per (device, series) of a rule, from one query for all its devices.

offline rules read the devices' `last_seen_at` (one SELECT per organization and cycle); threshold rules ask
the time-series store grouped by device (and the split_by tag), aggregated over the window by the store
itself: one query for all the rules sharing measurement, window, split_by and device filter (their fields
and aggregations in one statement). A (device, series) without a reading is unknown: its state is left as
it is (no resolve for missing data).
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import connection
from django.db.models.functions import Coalesce

from alerts.models import OPERATORS, AlertRule
from devices.models import Device
from timeseries import StoreError, StoreQueryInvalid, get_store
from timeseries.window import WindowAggregates

# The tag ingest stores a point's device name under (named, not imported: ingest is a sibling app).
DEVICE_TAG = "device"
# A rule naming fewer devices than this filters the store query by them; more, and the query reads the
# organization's whole measurement (grouped by device) and drops other devices here: a filter of thousands
# of OR terms costs InfluxDB more than the groups it saves.
DEVICE_FILTER_MAX = 200


@dataclass(frozen=True, slots=True)
class RuleDevice:
    id: int
    name: str
    slug: str
    last_data: float  # epoch seconds: last seen, or created for a device never seen


@dataclass(frozen=True, slots=True)
class Reading:
    device_id: int
    series: str
    value: float
    bad: bool  # the rule's condition holds against `value`: a problem begins (or continues)
    holding: bool  # the condition holds against the recovery value: a pending/firing state stays


def organization_devices(organization_id: int) -> list[RuleDevice]:
    """Every device of the organization, read once per evaluation cycle and shared by its rules. On PostgreSQL
    the last data comes as epoch seconds: parsing 10,000 timestamps was a quarter of a steady cycle."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, name, slug, EXTRACT(EPOCH FROM COALESCE(last_seen_at, created_at))::float8 "  # noqa: S608
                f"FROM {Device._meta.db_table} WHERE organization_id = %s",
                [organization_id],
            )
            return [RuleDevice(*row) for row in cursor.fetchall()]
    rows = (
        Device.objects.filter(organization_id=organization_id)
        .annotate(last_data=Coalesce("last_seen_at", "created_at"))
        .values_list("id", "name", "slug", "last_data")
    )
    return [RuleDevice(pk, name, slug, seen.timestamp()) for pk, name, slug, seen in rows]


def rule_devices(rule: AlertRule, everyone: list[RuleDevice]) -> list[RuleDevice]:
    """The rule's devices: those listed plus those matching the pattern; neither set → all of the org's."""
    listed = {d.id for d in rule.devices.all()}
    if not listed and not rule.device_pattern:
        return everyone
    pattern = rule.device_pattern
    return [d for d in everyone if d.id in listed or (pattern and fnmatch.fnmatchcase(d.name, pattern))]


Selection = tuple[frozenset[int], str] | None


def selection(rule: AlertRule) -> Selection:
    """What rule_devices depends on: None for every device of the organization (the common case)."""
    listed = frozenset(d.id for d in rule.devices.all())
    if not listed and not rule.device_pattern:
        return None
    return listed, rule.device_pattern


class CycleDevices:
    """An organization's devices for one evaluation cycle: read once; each rule selection's devices, names
    and ids computed once, however many rules share it (most rules select every device)."""

    def __init__(self, organization_id: int, everyone: list[RuleDevice] | None = None) -> None:
        self.everyone = organization_devices(organization_id) if everyone is None else everyone
        self._selected: dict[Selection, list[RuleDevice]] = {None: self.everyone}
        self._names: dict[Selection, dict[str, int]] = {}
        self._ids: dict[Selection, dict[int, str]] = {}
        self._keys: dict[int, Selection] = {}

    def _key(self, rule: AlertRule) -> Selection:
        if rule.id not in self._keys:
            self._keys[rule.id] = selection(rule)
        return self._keys[rule.id]

    def of(self, rule: AlertRule) -> list[RuleDevice]:
        key = self._key(rule)
        if key not in self._selected:
            self._selected[key] = rule_devices(rule, self.everyone)
        return self._selected[key]

    def names(self, rule: AlertRule) -> dict[str, int]:
        """Device name -> id of the rule's devices."""
        key = self._key(rule)
        if key not in self._names:
            self._names[key] = {d.name: d.id for d in self.of(rule)}
        return self._names[key]

    def ids(self, rule: AlertRule) -> dict[int, str]:
        """Device id -> name of the rule's devices."""
        key = self._key(rule)
        if key not in self._ids:
            self._ids[key] = {d.id: d.name for d in self.of(rule)}
        return self._ids[key]


# Keys (device id, series) of states that are not ok: their readings are needed even when the condition does
# not hold (to resolve them). None: every reading (tests, one rule on its own).
Keep = set[tuple[int, str]] | None


def offline_readings(rule: AlertRule, devices: list[RuleDevice], now: datetime, keep: Keep = None) -> list[Reading]:
    """Seconds since each device's last data; a device never seen counts from its creation. With `keep`, only
    the silent devices and those kept: a healthy device costs one comparison, no object."""
    at = now.timestamp()
    cutoff = at - rule.grace().total_seconds()
    readings = []
    for device in devices:
        bad = device.last_data <= cutoff
        if bad or keep is None or (device.id, "") in keep:
            readings.append(Reading(device.id, "", round(at - device.last_data, 1), bad, bad))
    return readings


def _query_key(rule: AlertRule, names: dict[str, int]) -> tuple[Any, ...]:
    """Rules with the same key are answered by one store query (all their fields and aggregations)."""
    filtered = tuple(sorted(names)) if len(names) <= DEVICE_FILTER_MAX else None
    return (rule.measurement, rule.window_seconds, rule.split_by, filtered)


def _read(rules: list[AlertRule], names: dict[str, int], now: datetime) -> WindowAggregates:
    first = rules[0]
    group_by = [DEVICE_TAG, *([first.split_by] if first.split_by else [])]
    return get_store().window_aggregates(
        tenant=str(first.organization_id),
        measurement=first.measurement,
        aggregates=sorted({(r.field, r.aggregation) for r in rules}),  # type: ignore[misc]
        start=now - timedelta(seconds=first.window_seconds),
        end=now,
        tags={DEVICE_TAG: sorted(names)} if len(names) <= DEVICE_FILTER_MAX else None,
        group_by=group_by,
    )


def _threshold_from(rule: AlertRule, found: WindowAggregates, devices: CycleDevices, keep: Keep) -> list[Reading]:
    found_column = found.get((rule.field, rule.aggregation), {})
    sample = next(iter(found_column.values()), None)
    if not isinstance(sample, int | float) or isinstance(sample, bool):
        return []  # no points, or `last` of a string/bool field (a field has one type): nothing to compare
    column = cast(dict[tuple[str, ...], float], found_column)
    compare = OPERATORS[rule.operator]
    threshold = float(rule.value or 0.0)
    recovery = float(rule.recovery_value) if rule.recovery_value is not None else threshold
    names = devices.names(rule)
    # The groups whose condition holds, plus those of the rule's states that are not ok: a healthy device
    # costs one comparison and no object.
    if keep is None:
        picked = list(column)
    else:
        picked = [key for key, raw in column.items() if compare(raw, threshold)]
        by_id = devices.ids(rule)
        picked += [(by_id[d], s) if rule.split_by else (by_id[d],) for d, s in keep if d in by_id]
    readings = []
    for key in dict.fromkeys(picked):  # once each, in order
        device_id, raw = names.get(key[0]), column.get(key)
        if device_id is None or raw is None:
            continue
        value = float(raw)
        series = key[1] if rule.split_by else ""
        readings.append(Reading(device_id, series, value, compare(value, threshold), compare(value, recovery)))
    return readings


def threshold_readings_many(
    rules: list[AlertRule], now: datetime, devices: CycleDevices, keep: dict[int, Keep] | None = None
) -> dict[int, list[Reading] | StoreError]:
    """Threshold rules of one organization: one store query per (measurement, window, split_by, device filter),
    whatever the number of rules, fields and aggregations sharing it. A query's StoreError is each of its
    rules' answer; a refused query (e.g. `mean` of a string field) is retried rule by rule, so only the rule
    asking it is in error."""
    batches: dict[tuple[Any, ...], list[AlertRule]] = defaultdict(list)
    out: dict[int, list[Reading] | StoreError] = {}
    for rule in rules:
        names = devices.names(rule)
        if not names:
            out[rule.id] = []
        else:
            batches[_query_key(rule, names)].append(rule)
    for batch in batches.values():
        names = devices.names(batch[0])  # same key: same filter; each rule drops devices not its own below
        try:
            found = _read(batch, names, now)
        except StoreQueryInvalid as exc:
            if len(batch) == 1:
                out[batch[0].id] = exc
                continue
            for rule in batch:
                out.update(threshold_readings_many([rule], now, devices, keep))
            continue
        except StoreError as exc:
            out.update({rule.id: exc for rule in batch})
            continue
        for rule in batch:
            out[rule.id] = _threshold_from(rule, found, devices, (keep or {}).get(rule.id))
    return out


def threshold_readings(rule: AlertRule, devices: list[RuleDevice], now: datetime, keep: Keep = None) -> list[Reading]:
    answer = threshold_readings_many([rule], now, CycleDevices(rule.organization_id, devices), {rule.id: keep})
    found = answer[rule.id]
    if isinstance(found, StoreError):
        raise found
    return found


def rule_readings(
    rule: AlertRule, now: datetime, everyone: list[RuleDevice] | None = None, keep: Keep = None
) -> list[Reading]:
    """Raises the store's StoreError/StoreUnavailable: the caller records an evaluation error."""
    devices = rule_devices(rule, organization_devices(rule.organization_id) if everyone is None else everyone)
    if rule.kind == AlertRule.Kind.OFFLINE:
        return offline_readings(rule, devices, now, keep)
    return threshold_readings(rule, devices, now, keep)
