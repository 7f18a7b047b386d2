"""Gauge writes (the MetricNexus table): create, set, add (inc/dec/add/sub), delete, prune.

Every update is one UPDATE doing the arithmetic in the database, so concurrent increments are never lost
(no read-modify-write in Python), and a counter's "never down" rule is part of the same statement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Organization
from portal.api.errors import Conflict, InvalidRequest, NotFound
from portal.prepared import prepared_cursor
from registry import sql
from registry.models import Gauge, Kind
from registry.textformat import Limits, check_labels, check_metric_name, finite, render_labels
from registry.types import types_claim

# Defaults of limits a deployment rarely changes (a setting of the same name overrides each).
LIMIT_DEFAULTS = {
    "REGISTRY_PUSH_MAX_SERIES": 10_000,
    "REGISTRY_MAX_LABELS": 32,
    "REGISTRY_MAX_LABEL_VALUE_LENGTH": 1024,
}
GAUGE_BODY_MAX_BYTES = 64 * 1024


def _limit(name: str) -> int:
    return int(getattr(settings, name, LIMIT_DEFAULTS[name]))


def limits() -> Limits:
    return Limits(
        max_series=_limit("REGISTRY_PUSH_MAX_SERIES"),
        max_labels=_limit("REGISTRY_MAX_LABELS"),
        max_label_value=_limit("REGISTRY_MAX_LABEL_VALUE_LENGTH"),
    )


def labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_gauge_identity(name: str, labels: dict[str, str]) -> None:
    check_metric_name(name, where="gauge name")
    check_labels(labels, limits(), where=f"gauge {name!r}")


def describe(name: str, labels: dict[str, str]) -> str:
    return f"{name}{render_labels(labels)}"


@dataclass(frozen=True, slots=True)
class Created:
    gauge: Gauge
    created: bool


@transaction.atomic
def gauge_create(
    *,
    organization: Organization,
    name: str,
    labels: dict[str, str],
    description: str,
    kind: str = Kind.GAUGE,
    ttl_seconds: int | None = None,
    api_key: ApiKey | None = None,
) -> Created:
    """Create the gauge, or find the same one: 409 when it exists with another description or kind (the
    seed crashed here), or when its name is another type in this organization."""
    check_gauge_identity(name, labels)
    if kind not in (Kind.GAUGE, Kind.COUNTER):
        raise InvalidRequest(f"field 'kind': {kind!r} is not 'gauge' or 'counter'")
    key = labels_key(labels)
    now = timezone.now()
    existing = Gauge.objects.select_for_update().filter(organization=organization, name=name, labels_key=key).first()
    if existing is not None and existing.expires_at is not None and existing.expires_at <= now:
        existing.delete()  # expired: as if pruned already
        existing = None
    if existing is not None:
        if existing.description != description or existing.kind != kind:
            raise Conflict(
                f"gauge {describe(name, labels)} exists as a {existing.kind} described {existing.description[:200]!r}; "
                "delete it first to change its description or kind"
            )
        return Created(existing, False)
    problem = types_claim(organization_id=organization.id, wanted={name: str(kind)})
    if problem:
        raise Conflict(problem)
    gauge = Gauge.objects.create(
        organization=organization,
        name=name,
        labels=labels,
        labels_key=key,
        identity=name + key,
        description=description,
        kind=kind,
        ttl_seconds=ttl_seconds,
        expires_at=None if ttl_seconds is None else now + timedelta(seconds=ttl_seconds),
        updated_at=now,
        updated_by=api_key,
    )
    return Created(gauge, True)


def _update(
    organization: Organization,
    name: str,
    labels: dict[str, str],
    assign: str,
    guard: str,
    params: list[Any],
    api_key: ApiKey | None,
) -> float | None:
    now = timezone.now()
    expiry = sql.plus_seconds("%s", "ttl_seconds")
    statement = (
        f"UPDATE {sql.GAUGES} SET value = {assign}, updated_at = %s, updated_by_id = %s, "  # noqa: S608
        f"expires_at = CASE WHEN ttl_seconds IS NULL THEN NULL ELSE {expiry} END "
        "WHERE organization_id = %s AND name = %s AND labels_key = %s AND (expires_at IS NULL OR expires_at > %s) "
        f"AND {guard} RETURNING value"
    )
    stamp = sql.ts(now)
    api_key_id = api_key.id if api_key is not None else None
    values = [params[0], stamp, api_key_id, stamp, organization.id, name, labels_key(labels), stamp, *params[1:]]
    with prepared_cursor() as cursor:  # an inc is this one statement: prepared once per connection
        cursor.execute(statement, values)
        row = cursor.fetchone()
    return None if row is None else float(row[0])


def _refused(organization: Organization, name: str, labels: dict[str, str], what: str) -> Exception:
    """Why an update matched no row: no such (live) gauge, or a counter asked to go down."""
    now = timezone.now()
    gauge = Gauge.objects.filter(organization=organization, name=name, labels_key=labels_key(labels)).first()
    if gauge is None or (gauge.expires_at is not None and gauge.expires_at <= now):
        return NotFound(f"no gauge {describe(name, labels)} in this organization; create it with POST first")
    return InvalidRequest(f"gauge {describe(name, labels)} is a counter: it cannot {what} (it only goes up)")


def gauge_set(
    *, organization: Organization, name: str, labels: dict[str, str], value: float, api_key: ApiKey | None = None
) -> float:
    finite(value, where="value")
    result = _update(organization, name, labels, "%s", "(kind <> 'counter' OR value <= %s)", [value, value], api_key)
    if result is None:
        raise _refused(organization, name, labels, f"be set to {value}, below its value")
    return result


def gauge_add(
    *, organization: Organization, name: str, labels: dict[str, str], delta: float, api_key: ApiKey | None = None
) -> float:
    """value += delta in one statement (inc: 1, dec: -1, sub: -amount)."""
    finite(delta, where="value")
    result = _update(
        organization, name, labels, "value + %s", "(kind <> 'counter' OR %s >= 0)", [delta, delta], api_key
    )
    if result is None:
        raise _refused(organization, name, labels, f"change by {delta}")
    return result


def gauge_delete(*, organization: Organization, name: str, labels: dict[str, str]) -> None:
    deleted, _ = Gauge.objects.filter(organization=organization, name=name, labels_key=labels_key(labels)).delete()
    if not deleted:
        raise NotFound(f"no gauge {describe(name, labels)} in this organization")


def registry_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete gauges and pushed groups past their TTL (they are already hidden from every read)."""
    from registry.models import PushGroup

    now = now or timezone.now()
    gauges, _ = Gauge.objects.filter(expires_at__lte=now).delete()
    groups, _ = PushGroup.objects.filter(expires_at__lte=now).delete()
    return {"gauges": gauges, "groups": groups}
