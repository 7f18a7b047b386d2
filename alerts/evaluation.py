"""One evaluation of a rule: readings → transitions claimed by conditional UPDATE → one message per kind.

Every transition is `UPDATE alerts_alertstate SET ... WHERE id IN (...) AND state = <old> RETURNING id`:
of two workers (or two beats) evaluating the same rule at once, each state changes for exactly one of them,
and only the one that changed it notifies, in the same transaction as the change. The notification's
dedup_key (rule, transition, the claimed state ids and time) is the second lock, from notifications/.

States per (rule, device, series): ok → pending (for_seconds > 0) → firing → ok. A reading whose condition
holds begins a problem; a pending or firing state stays while the condition holds against the recovery value
(hysteresis); a (device, series) without a reading is left as it is, so a store outage or a gap never
resolves anything (it is recorded as the rule's evaluation error instead).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from alerts import messages
from alerts.models import AlertEvent, AlertRule, AlertState
from alerts.readings import CycleDevices, Keep, Reading, RuleDevice, offline_readings, threshold_readings_many
from alerts.selectors import ActiveSilences
from timeseries import StoreError

logger = logging.getLogger(__name__)
OK, PENDING, FIRING = AlertState.State.OK, AlertState.State.PENDING, AlertState.State.FIRING
_SQLITE_CHUNK = 500  # ids per statement on SQLite (the embedded demo); PostgreSQL binds one array


@dataclass
class RuleOutcome:
    rule_id: int
    readings: int = 0
    pending: list[int] = field(default_factory=list)  # state ids claimed, per transition
    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    repeated: list[int] = field(default_factory=list)
    notifications: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    state: str
    since: datetime
    last_notified_at: datetime | None
    silenced: bool
    last_value: float | None


def claim(
    ids: Sequence[int], expected: str, changes: dict[str, Any], extra_where: str = "", extra: Iterable[Any] = ()
) -> list[int]:
    """Apply `changes` to those of `ids` still in state `expected`; the ids this call changed."""
    if not ids:
        return []
    table = AlertState._meta.db_table
    sets = ", ".join(f"{column} = %s" for column in changes)
    if connection.vendor == "postgresql":
        batches: list[tuple[str, list[Any]]] = [("id = ANY(%s)", [list(ids)])]  # one array parameter
    else:
        chunks = [ids[i : i + _SQLITE_CHUNK] for i in range(0, len(ids), _SQLITE_CHUNK)]
        batches = [("id IN (" + ", ".join(["%s"] * len(c)) + ")", list(c)) for c in chunks]
    claimed: list[int] = []
    with connection.cursor() as cursor:
        for ids_sql, ids_params in batches:
            cursor.execute(
                f"UPDATE {table} SET {sets}, updated_at = %s "  # noqa: S608 - column names are ours
                f"WHERE {ids_sql} AND state = %s {extra_where} RETURNING id",
                [*changes.values(), timezone.now(), *ids_params, expected, *extra],
            )
            claimed.extend(int(row[0]) for row in cursor.fetchall())
    return sorted(claimed)


_STATE_COLUMNS = ("id", "device_id", "series", "state", "since", "last_notified_at", "silenced", "last_value")
_IDS_PER_QUERY = 2000


def _rows(queryset: Any) -> dict[tuple[int, str], _Row]:
    return {(row[1], row[2]): _Row(row[0], *row[3:]) for row in queryset.values_list(*_STATE_COLUMNS)}


def active_states(rule_ids: Sequence[int]) -> dict[int, dict[tuple[int, str], _Row]]:
    """The states that are not ok, per rule, of every rule given (one query): the only rows an evaluation
    needs besides those of readings whose condition holds. Ok rows of healthy devices are never read."""
    found: dict[int, dict[tuple[int, str], _Row]] = {rule_id: {} for rule_id in rule_ids}
    rows = AlertState.objects.filter(rule_id__in=list(rule_ids)).exclude(state=OK)
    for row in rows.values_list("rule_id", *_STATE_COLUMNS):
        found[row[0]][(row[2], row[3])] = _Row(row[1], *row[4:])
    return found


def _load_states(rule_id: int, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], _Row]:
    """The rows of these (device, series) keys that exist (any state)."""
    wanted = set(keys)
    devices = sorted({device_id for device_id, _ in keys})
    found: dict[tuple[int, str], _Row] = {}
    for i in range(0, len(devices), _IDS_PER_QUERY):
        chunk = devices[i : i + _IDS_PER_QUERY]
        rows = _rows(AlertState.objects.filter(rule_id=rule_id, device_id__in=chunk))
        found.update((key, row) for key, row in rows.items() if key in wanted)
    return found


def _ensure_rows(rule_id: int, keys: list[tuple[int, str]], now: datetime) -> None:
    # Concurrent evaluations may both insert; the unique (rule, device, series) keeps one row. On PostgreSQL one
    # INSERT from arrays: a storm of thousands of new problems cost ~0.1 s per 200 rows through bulk_create.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {AlertState._meta.db_table} (rule_id, device_id, series, state, since, silenced, "  # noqa: S608
                "updated_at) SELECT %s, d, s, %s, %s, false, %s FROM unnest(%s::bigint[], %s::text[]) AS k(d, s) "
                "ON CONFLICT DO NOTHING",
                [rule_id, OK, now, now, [d for d, _ in keys], [s for _, s in keys]],
            )
        return
    AlertState.objects.bulk_create(
        [AlertState(rule_id=rule_id, device_id=d, series=s, state=OK, since=now) for d, s in keys],
        ignore_conflicts=True,
    )


def _events(
    rule: AlertRule,
    kind: str,
    ids: list[int],
    by_id: dict[int, Reading],
    keys: dict[int, tuple[int, str]],
    silenced: set[int],
    now: datetime,
) -> None:
    rows = [(keys[sid][0], keys[sid][1], by_id[sid].value if sid in by_id else None, sid in silenced) for sid in ids]
    if not rows:
        return
    if connection.vendor == "postgresql":  # one INSERT from arrays, as _ensure_rows
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {AlertEvent._meta.db_table} (organization_id, rule_id, device_id, series, kind, value, "  # noqa: S608
                "at, silenced) SELECT %s, %s, d, s, %s, v, %s, q "
                "FROM unnest(%s::bigint[], %s::text[], %s::float8[], %s::bool[]) AS e(d, s, v, q)",
                [rule.organization_id, rule.id, kind, now, *(list(column) for column in zip(*rows, strict=True))],
            )
        return
    AlertEvent.objects.bulk_create(
        [
            AlertEvent(organization_id=rule.organization_id, rule=rule, device_id=device_id, series=series,
                       kind=kind, value=value, at=now, silenced=quiet)
            for device_id, series, value, quiet in rows
        ]
    )  # fmt: skip


@dataclass
class CycleInputs:
    """What evaluate_all reads once per organization and cycle, for each of its rules."""

    devices: CycleDevices
    silences: ActiveSilences
    active: dict[int, dict[tuple[int, str], _Row]]  # rule id -> its states that are not ok
    readings: dict[int, list[Reading] | StoreError]


def cycle_inputs(rules: Sequence[AlertRule], now: datetime, devices: CycleDevices) -> CycleInputs:
    """One organization's rules: their non-ok states (one query), then readings of the devices with a problem
    or a state to resolve (threshold rules: one store query per shared measurement/window/split_by)."""
    active = active_states([rule.id for rule in rules])
    keep: dict[int, Keep] = {rule_id: set(states) for rule_id, states in active.items()}
    threshold = [rule for rule in rules if rule.kind == AlertRule.Kind.THRESHOLD]
    readings = threshold_readings_many(threshold, now, devices, keep)
    for rule in rules:
        if rule.kind == AlertRule.Kind.OFFLINE:
            readings[rule.id] = offline_readings(rule, devices.of(rule), now, keep[rule.id])
    organization_id = rules[0].organization_id if rules else 0
    return CycleInputs(devices, ActiveSilences(organization_id, now), active, readings)


def evaluate_rule(
    rule: AlertRule,
    *,
    now: datetime | None = None,
    devices: list[RuleDevice] | None = None,
    inputs: CycleInputs | None = None,
) -> RuleOutcome:
    """`inputs`: what evaluate_all read for the whole organization this cycle; without, read for this rule."""
    now = now or timezone.now()
    outcome = RuleOutcome(rule.id)
    try:
        if inputs is None:
            inputs = cycle_inputs([rule], now, CycleDevices(rule.organization_id, devices))
        found = inputs.readings[rule.id]
        if isinstance(found, StoreError):
            raise found
        readings = found
    except StoreError as exc:
        # No data is not good data: leave every state as it is and say why on the rule.
        outcome.error = f"{type(exc).__name__}: {exc}"[:1000]
        AlertRule.objects.filter(id=rule.id).update(last_error=outcome.error, last_error_at=now, last_evaluated_at=now)
        logger.warning("alert rule %s not evaluated: %s", rule.id, outcome.error)
        return outcome
    outcome.readings = len(readings)
    states = dict(inputs.active.get(rule.id, {}))
    bad = [(r.device_id, r.series) for r in readings if r.bad and (r.device_id, r.series) not in states]
    if bad:
        states.update(_load_states(rule.id, bad))  # ok rows of devices that had a problem before
        missing = [key for key in bad if key not in states]
        if missing:
            _ensure_rows(rule.id, missing, now)
            states.update(_load_states(rule.id, missing))
    silences = inputs.silences
    # state id -> reading, and the candidate ids of each transition
    by_id: dict[int, Reading] = {}
    begin: dict[bool, list[int]] = defaultdict(list)  # covered by a silence? -> ids ok → pending/firing
    promote: dict[bool, list[int]] = defaultdict(list)  # pending → firing
    back_to_ok: list[int] = []  # pending → ok, no message
    resolve: list[int] = []  # firing → ok
    repeat: list[int] = []
    pending_cutoff = now - timedelta(seconds=rule.for_seconds)
    repeat_cutoff = now - timedelta(seconds=rule.repeat_seconds) if rule.repeat_seconds else None
    for reading in readings:
        row = states.get((reading.device_id, reading.series))
        if row is None:
            continue  # fine and never was otherwise: no row needed
        by_id[row.id] = reading
        covered = silences.covers(rule.id, reading.device_id)
        if row.state == OK and reading.bad:
            begin[covered].append(row.id)
        elif row.state == PENDING:
            if not reading.holding:
                back_to_ok.append(row.id)
            elif row.since <= pending_cutoff:
                promote[covered or row.silenced].append(row.id)
        elif row.state == FIRING:
            if not reading.holding:
                resolve.append(row.id)
            elif repeat_cutoff is not None and not row.silenced and not covered:
                due = row.last_notified_at is None or row.last_notified_at <= repeat_cutoff
                if due:
                    repeat.append(row.id)
    # A device taken out of the rule (or deleted pattern match) leaves its problem without a message.
    members = {d.id for d in inputs.devices.of(rule)}
    left = [row.id for (device_id, _), row in states.items() if row.state != OK and device_id not in members]
    keys = {row.id: key for key, row in states.items()}
    silenced_rows = {row.id for row in states.values() if row.silenced}
    target = FIRING if rule.for_seconds == 0 else PENDING
    fired: list[int] = []
    fired_silenced: set[int] = set()
    with transaction.atomic():
        for covered, ids in begin.items():
            changes: dict[str, Any] = {"state": target, "since": now, "silenced": covered}
            if target == FIRING:
                changes["last_notified_at"] = now
            won = claim(ids, OK, changes)
            (fired if target == FIRING else outcome.pending).extend(won)
            if covered and target == FIRING:
                fired_silenced.update(won)
        for covered, ids in promote.items():
            won = claim(ids, PENDING, {"state": FIRING, "since": now, "silenced": covered, "last_notified_at": now})
            fired.extend(won)
            if covered:
                fired_silenced.update(won)
        claim(back_to_ok, PENDING, {"state": OK, "since": now, "silenced": False})
        for old in (PENDING, FIRING):
            claim(left, old, {"state": OK, "since": now, "silenced": False})
        outcome.fired = sorted(fired)
        if fired:
            _events(rule, AlertEvent.Kind.FIRING, outcome.fired, by_id, keys, fired_silenced, now)
            loud = [sid for sid in outcome.fired if sid not in fired_silenced]
            outcome.notifications += messages.send(rule, "firing", loud, by_id, keys, now)
    with transaction.atomic():
        outcome.resolved = claim(resolve, FIRING, {"state": OK, "since": now, "silenced": False})
        if outcome.resolved:
            _events(rule, AlertEvent.Kind.RESOLVED, outcome.resolved, by_id, keys, silenced_rows, now)
            loud = [sid for sid in outcome.resolved if sid not in silenced_rows]
            outcome.notifications += messages.send(rule, "resolved", loud, by_id, keys, now)
    if repeat and repeat_cutoff is not None:
        with transaction.atomic():
            outcome.repeated = claim(
                repeat,
                FIRING,
                {"last_notified_at": now},
                "AND (last_notified_at IS NULL OR last_notified_at <= %s)",
                [repeat_cutoff],
            )
            outcome.notifications += messages.send(rule, "repeat", outcome.repeated, by_id, keys, now)
    _record_values(rule, by_id, states)
    AlertRule.objects.filter(id=rule.id).update(last_evaluated_at=now, last_error="")
    return outcome


def _record_values(rule: AlertRule, by_id: dict[int, Reading], states: dict[tuple[int, str], _Row]) -> None:
    """Keep last_value of the states that are not ok (the page's numbers), and only where it changed: ok
    rows are not rewritten every cycle, which for 10,000 healthy devices would be 10,000 updates for nothing.
    Offline rules keep the value of their transition (seconds silent grows every cycle; the page has the
    device's last-seen time)."""
    if rule.kind == AlertRule.Kind.OFFLINE:
        return
    changed = [
        (row.id, by_id[row.id].value)
        for row in states.values()
        if row.id in by_id and (row.state != OK or by_id[row.id].bad) and row.last_value != by_id[row.id].value
    ]
    if not changed:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {AlertState._meta.db_table} AS s SET last_value = v.value "  # noqa: S608 - our table
                "FROM unnest(%s::bigint[], %s::float8[]) AS v(id, value) WHERE s.id = v.id",
                [[sid for sid, _ in changed], [value for _, value in changed]],
            )
    else:
        AlertState.objects.bulk_update([AlertState(id=i, last_value=v) for i, v in changed], ["last_value"], 500)


def evaluate_all(*, now: datetime | None = None, organization_id: int | None = None) -> list[RuleOutcome]:
    """Every enabled rule, organization by organization: their devices, states and readings read once for all
    of the organization's rules (cycle_inputs), then each rule on its own; one rule's failure is recorded on
    it and the others go on."""
    rules = AlertRule.objects.filter(enabled=True).select_related("organization").prefetch_related("devices")
    if organization_id is not None:
        rules = rules.filter(organization_id=organization_id)
    now = now or timezone.now()
    by_org: dict[int, list[AlertRule]] = defaultdict(list)
    for rule in rules.order_by("organization_id", "id"):
        by_org[rule.organization_id].append(rule)
    outcomes: list[RuleOutcome] = []
    for org_id, org_rules in by_org.items():  # one organization's devices in memory at a time
        inputs = cycle_inputs(org_rules, now, CycleDevices(org_id))
        outcomes.extend(evaluate_rule(rule, now=now, inputs=inputs) for rule in org_rules)
    return outcomes
