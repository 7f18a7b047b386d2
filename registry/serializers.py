"""Registry bodies: what a gauge and a pushed group look like in JSON, and a gauge's creation fields."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from portal.api.schema import ErrorSerializer
from registry.models import Gauge, PushGroup

__all__ = ["ErrorSerializer", "GaugeCreateSerializer", "GaugeSerializer", "PushGroupSerializer", "WipeSerializer"]


class GaugeSerializer(serializers.ModelSerializer[Gauge]):
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    updated_by = serializers.SerializerMethodField(help_text="key id of the last writer")

    class Meta:
        model = Gauge
        fields = [
            "name",
            "labels",
            "description",
            "kind",
            "value",
            "ttl_seconds",
            "expires_at",
            "updated_at",
            "updated_by",
        ]

    def get_updated_by(self, gauge: Gauge) -> str | None:
        return gauge.updated_by.key_id if gauge.updated_by is not None else None


class GaugeCreateSerializer(serializers.Serializer[dict[str, Any]]):
    description = serializers.CharField(required=False, default="", allow_blank=True, max_length=10_000)
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1024), required=False)
    kind = serializers.ChoiceField(choices=["gauge", "counter"], required=False, default="gauge")
    ttl_seconds = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10 * 365 * 86400)


class PushGroupSerializer(serializers.ModelSerializer[PushGroup]):
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    metrics = serializers.SerializerMethodField(help_text="metric names in the group")

    class Meta:
        model = PushGroup
        fields = ["labels", "metrics", "pushed_at", "failed_at", "ttl_seconds", "expires_at"]

    def get_metrics(self, group: PushGroup) -> list[str]:
        return sorted(group.families)


class WipeSerializer(serializers.Serializer[dict[str, Any]]):
    deleted_groups = serializers.IntegerField()
