"""Shapes of the alerts API. Devices are named by their names, as everywhere in the API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from alerts.models import AlertEvent, AlertRule, AlertState, Silence
from alerts.services import RULE_FIELDS


class DeviceNames(serializers.ListField):
    child = serializers.CharField(max_length=128)

    def to_representation(self, value: Any) -> list[str]:
        return sorted(d.name for d in value.all())


class AlertRuleSerializer(serializers.ModelSerializer):
    devices = DeviceNames(required=False, help_text="Device names; empty with an empty pattern: every device.")
    recipients = serializers.ListField(child=serializers.EmailField(), required=False, max_length=50)

    class Meta:
        model = AlertRule
        fields = ["id", *RULE_FIELDS, "devices", "created_at", "updated_at", "last_evaluated_at", "last_error"]
        read_only_fields = ["id", "created_at", "updated_at", "last_evaluated_at", "last_error"]
        # The (organization, name) uniqueness is checked by the service against the caller's organization.
        validators: list[Any] = []


class SilenceSerializer(serializers.ModelSerializer):
    rule = serializers.IntegerField(source="rule_id", required=False, allow_null=True)
    devices = DeviceNames(required=False, help_text="Device names; empty: every device (of the rule).")
    starts_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = ["id", "rule", "devices", "starts_at", "ends_at", "reason", "created_by", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_created_by(self, silence: Silence) -> str | None:
        return silence.created_by.get_username() if silence.created_by else None


class AlertStateSerializer(serializers.ModelSerializer):
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    device = serializers.CharField(source="device.name")
    silenced = serializers.SerializerMethodField()

    class Meta:
        model = AlertState
        fields = [
            "rule",
            "rule_name",
            "device",
            "series",
            "state",
            "since",
            "last_value",
            "last_notified_at",
            "silenced",
        ]

    def get_silenced(self, state: AlertState) -> bool:
        return bool(getattr(state, "shown_silenced", state.silenced))


class AlertEventSerializer(serializers.ModelSerializer):
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    device = serializers.CharField(source="device.name")

    class Meta:
        model = AlertEvent
        fields = ["id", "rule", "rule_name", "device", "series", "kind", "value", "at", "silenced"]
