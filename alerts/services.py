"""Writes of alerts: rules and silences (each change in the audit log), and the evaluation tick."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from accounts.audit import audit_record
from accounts.models import ApiKey, Organization
from alerts import evaluation
from alerts.models import AlertRule, Silence
from devices.models import Device

# What a rule's API/page form may set; the rest (organization, timestamps, errors) is Beacon's.
RULE_FIELDS = (
    "name",
    "enabled",
    "kind",
    "device_pattern",
    "grace_seconds",
    "measurement",
    "field",
    "aggregation",
    "window_seconds",
    "split_by",
    "operator",
    "value",
    "recovery_value",
    "for_seconds",
    "repeat_seconds",
    "recipients",
    "webhook_url",
)


def _snapshot(rule: AlertRule) -> dict[str, Any]:
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    values["devices"] = sorted(rule.devices.values_list("name", flat=True)) if rule.pk else []
    return values


def _changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _check_devices(organization: Organization, devices: Sequence[Device]) -> None:
    from django.core.exceptions import ValidationError

    if any(d.organization_id != organization.id for d in devices):
        raise ValidationError({"devices": "no such device in this organization"})


def _validate_and_save(obj: Any, organization: Organization, devices: Sequence[Device] | None) -> None:
    """The one save path of rules and silences: devices checked against the org, model validation (a
    ValidationError per field), the row, then its devices (None: leave them as they are)."""
    if devices is not None:
        _check_devices(organization, devices)
    obj.full_clean()
    obj.save()
    if devices is not None:
        obj.devices.set(devices)


@transaction.atomic
def alert_rule_create(
    *,
    organization: Organization,
    values: dict[str, Any],
    devices: Sequence[Device] = (),
    user: Any = None,
    key: ApiKey | None = None,
) -> AlertRule:
    """Validate (model.full_clean: ValidationError per field) and save; audited."""
    rule = AlertRule(organization=organization, **{k: v for k, v in values.items() if k in RULE_FIELDS})
    _validate_and_save(rule, organization, devices)
    audit_record(
        organization=organization, action="alert_rule.create", target=f"alert rule {rule.name}", user=user, key=key,
        after=_snapshot(rule),
    )  # fmt: skip
    return rule


@transaction.atomic
def alert_rule_update(
    *,
    rule: AlertRule,
    values: dict[str, Any],
    devices: Sequence[Device] | None = None,
    user: Any = None,
    key: ApiKey | None = None,
) -> AlertRule:
    before = _snapshot(rule)
    for name, value in values.items():
        if name in RULE_FIELDS:
            setattr(rule, name, value)
    _validate_and_save(rule, rule.organization, devices)
    old, new = _changed(before, _snapshot(rule))
    audit_record(
        organization=rule.organization, action="alert_rule.update", target=f"alert rule {rule.name}", user=user,
        key=key, before=old, after=new,
    )  # fmt: skip
    return rule


@transaction.atomic
def alert_rule_delete(*, rule: AlertRule, user: Any = None, key: ApiKey | None = None) -> None:
    audit_record(
        organization=rule.organization, action="alert_rule.delete", target=f"alert rule {rule.name}", user=user,
        key=key, before=_snapshot(rule),
    )  # fmt: skip
    rule.delete()


def _silence_values(silence: Silence) -> dict[str, Any]:
    return {
        "rule": silence.rule.name if silence.rule else None,
        "devices": sorted(silence.devices.values_list("name", flat=True)) if silence.pk else [],
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "reason": silence.reason,
    }


@transaction.atomic
def silence_create(
    *,
    organization: Organization,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    rule: AlertRule | None = None,
    devices: Sequence[Device] = (),
    user: Any = None,
    key: ApiKey | None = None,
) -> Silence:
    silence = Silence(
        organization=organization,
        rule=rule,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
    )
    _validate_and_save(silence, organization, devices)
    audit_record(
        organization=organization, action="silence.create", target=f"silence {silence.pk}", user=user, key=key,
        after=_silence_values(silence),
    )  # fmt: skip
    return silence


@transaction.atomic
def silence_update(
    *,
    silence: Silence,
    values: dict[str, Any],
    devices: Sequence[Device] | None = None,
    user: Any = None,
    key: ApiKey | None = None,
) -> Silence:
    before = _silence_values(silence)
    for name in ("rule", "starts_at", "ends_at", "reason"):
        if name in values:
            setattr(silence, name, values[name])
    _validate_and_save(silence, silence.organization, devices)
    old, new = _changed(before, _silence_values(silence))
    audit_record(
        organization=silence.organization, action="silence.update", target=f"silence {silence.pk}", user=user,
        key=key, before=old, after=new,
    )  # fmt: skip
    return silence


@transaction.atomic
def silence_delete(*, silence: Silence, user: Any = None, key: ApiKey | None = None) -> None:
    audit_record(
        organization=silence.organization, action="silence.delete", target=f"silence {silence.pk}", user=user,
        key=key, before=_silence_values(silence),
    )  # fmt: skip
    silence.delete()


def alerts_evaluate(*, now: datetime | None = None, organization_id: int | None = None) -> int:
    """One evaluation tick over every enabled rule; the number of notifications created."""
    outcomes = evaluation.evaluate_all(now=now, organization_id=organization_id)
    return sum(o.notifications for o in outcomes)
