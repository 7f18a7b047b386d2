"""Alert rules, one state per (rule, device, series), silences, and the history of transitions (docs/alerts.md)."""

from __future__ import annotations

import operator as op
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from portal import netguard

OPERATORS: dict[str, Callable[[float, float], bool]] = {">": op.gt, ">=": op.ge, "<": op.lt, "<=": op.le}


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        OFFLINE = "offline", "Device offline (no data)"
        THRESHOLD = "threshold", "Metric threshold"

    class Aggregation(models.TextChoices):
        LAST = "last"
        MEAN = "mean"
        MIN = "min"
        MAX = "max"

    class Operator(models.TextChoices):
        GT = ">"
        GE = ">="
        LT = "<"
        LE = "<="

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=128)
    enabled = models.BooleanField(default=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Which devices: these, plus those whose name matches the pattern; both empty → all of the org's.
    devices = models.ManyToManyField("devices.Device", blank=True, related_name="alert_rules")
    device_pattern = models.CharField(
        max_length=128, blank=True, help_text="Shell-style pattern on device names, e.g. 'edge-*'."
    )
    # offline: no data for this long; empty → the organization's offline_after (the pages' "offline").
    grace_seconds = models.PositiveIntegerField(null=True, blank=True)
    # threshold
    measurement = models.CharField(max_length=255, blank=True)
    field = models.CharField(max_length=255, blank=True)
    aggregation = models.CharField(max_length=8, choices=Aggregation.choices, default=Aggregation.LAST)
    window_seconds = models.PositiveIntegerField(default=300)
    split_by = models.CharField(max_length=255, blank=True, help_text="A tag: one state per value, e.g. 'path'.")
    operator = models.CharField(max_length=2, choices=Operator.choices, default=Operator.GT)
    value = models.FloatField(null=True, blank=True)
    # Hysteresis: a firing state resolves only once the condition no longer holds against this value.
    recovery_value = models.FloatField(null=True, blank=True)
    # both kinds
    for_seconds = models.PositiveIntegerField(default=0, help_text="Pending this long before firing.")
    repeat_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Re-notify while firing.")
    recipients = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last evaluation that could not read its data (store down): states were left as they were.
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["organization", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_alert_rule_name_per_org")]

    def __str__(self) -> str:
        return self.name

    def grace(self) -> timedelta:
        if self.grace_seconds:
            return timedelta(seconds=self.grace_seconds)
        return self.organization.offline_after  # type: ignore[no-any-return]

    def describe(self) -> str:
        if self.kind == self.Kind.OFFLINE:
            return f"no data for {int(self.grace().total_seconds())} s"
        split = f" per {self.split_by}" if self.split_by else ""
        return (
            f"{self.aggregation}({self.measurement}.{self.field}) over {self.window_seconds} s{split} "
            f"{self.operator} {self.value:g}"
            + (f" (recovers past {self.recovery_value:g})" if self.recovery_value is not None else "")
        )

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == self.Kind.THRESHOLD:
            for name in ("measurement", "field"):
                if not getattr(self, name):
                    errors[name] = f"a threshold rule needs a {name}"
            if self.value is None:
                errors["value"] = "a threshold rule needs a value"
            if not self.window_seconds:
                errors["window_seconds"] = "must be at least 1"
            if self.recovery_value is not None and self.value is not None:
                # The recovery value must lie on the healthy side of the threshold, or nothing ever resolves.
                healthy_below = self.operator in (">", ">=")
                if (healthy_below and self.recovery_value > self.value) or (
                    not healthy_below and self.recovery_value < self.value
                ):
                    side = "at or below" if healthy_below else "at or above"
                    errors["recovery_value"] = f"must be {side} value ({self.value:g}) for operator {self.operator}"
        for address in self.recipients if isinstance(self.recipients, list) else [None]:
            try:
                validate_email(str(address))
            except ValidationError:
                errors["recipients"] = f"{address!r} is not an email address"
                break
        if self.webhook_url:
            try:
                netguard.check_url(self.webhook_url)
            except netguard.UnsafeUrl as exc:
                errors["webhook_url"] = str(exc)
        if errors:
            raise ValidationError(errors)


class AlertState(models.Model):
    class State(models.TextChoices):
        OK = "ok"
        PENDING = "pending"
        FIRING = "firing"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="alert_states")
    series = models.CharField(max_length=255, blank=True, default="")  # the split_by tag's value
    state = models.CharField(max_length=8, choices=State.choices, default=State.OK)
    since = models.DateTimeField()
    last_value = models.FloatField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    # The problem began inside a silence: neither its firing nor its resolved message is sent (Zabbix's rule).
    silenced = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rule", "device", "series"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "device", "series"], name="uniq_alert_state_per_series"),
        ]
        indexes = [models.Index(fields=["rule", "state"], name="alerts_state_rule_state")]

    def __str__(self) -> str:
        return f"{self.rule} {self.device_id} {self.series}: {self.state}"


class AlertEvent(models.Model):
    """One transition to firing or back to ok: the history the API and the page list."""

    class Kind(models.TextChoices):
        FIRING = "firing"
        RESOLVED = "resolved"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="alert_events")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="events")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="alert_events")
    series = models.CharField(max_length=255, blank=True, default="")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.FloatField(null=True, blank=True)
    at = models.DateTimeField()
    silenced = models.BooleanField(default=False)  # no message was sent for it

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organization", "-at"], name="alerts_event_org_at")]

    def __str__(self) -> str:
        return f"{self.rule} {self.device_id} {self.kind} at {self.at}"


class Silence(models.Model):
    """A maintenance window: problems of the covered rule/devices that begin inside it are not notified."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="silences")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, null=True, blank=True, related_name="silences")
    devices = models.ManyToManyField("devices.Device", blank=True, related_name="silences")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M} {self.reason}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "must be after starts_at"})
        if self.rule is not None and self.organization_id and self.rule.organization_id != self.organization_id:
            raise ValidationError({"rule": "no such rule in this organization"})
