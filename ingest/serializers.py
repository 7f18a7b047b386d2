"""DRF serializers: the v1 JSON metric item and history answers."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ingest.validation import timestamp_to_ns
from timeseries.base import AGGREGATIONS

# `field` may be repeated this often in one history query; more is a 400 naming `field`.
MAX_HISTORY_FIELDS = 100


@extend_schema_field(
    {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number", "description": "epoch seconds"}]}
)
class TimestampField(serializers.Field):  # type: ignore[type-arg]
    """ISO 8601 string (naive = UTC) or epoch seconds; internal value is ns since the epoch."""

    def to_internal_value(self, data: Any) -> int:
        try:
            return timestamp_to_ns(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: int) -> int:
        return value


# anyOf, not oneOf: an integer is also a number, so under oneOf no integer would be valid.
@extend_schema_field({"anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string"}]})
class MetricValueField(serializers.Field):  # type: ignore[type-arg]
    """Passed through as parsed; ingest.validation checks type and finiteness with a clear message."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class JsonTextField(serializers.CharField):
    """A JSON string only: DRF's CharField turns 3 into "3", which silently stored numbers as text tags.

    Line protocol tags are text by syntax; in JSON a number or boolean where text belongs is a client
    mistake, refused with the value shown (`tags.rack: must be a JSON string, not 3`).
    """

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            shown = json.dumps(data)[:40]
            raise serializers.ValidationError(f"must be a JSON string, not {shown}")
        return super().to_internal_value(data)


class MetricItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """`{"device": ..., "timestamp": ..., "metrics": {...}, "tags": {...}, "measurement": ...}`."""

    device = JsonTextField(required=False, trim_whitespace=False, min_length=1, max_length=128)
    timestamp = TimestampField(required=False, allow_null=True)
    measurement = JsonTextField(required=False, trim_whitespace=False, min_length=1)
    metrics = serializers.DictField(child=MetricValueField(), allow_empty=False)
    tags = serializers.DictField(child=JsonTextField(trim_whitespace=False, allow_blank=True), required=False)


class HistoryQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Query parameters of GET /api/v1/history (times are parsed by ingest.history)."""

    device = serializers.CharField(required=True, trim_whitespace=False)
    measurement = serializers.CharField(required=False, default="edge", trim_whitespace=False)
    field = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False), min_length=1, max_length=MAX_HISTORY_FIELDS
    )
    start = serializers.CharField(required=False, default="-1h")
    end = serializers.CharField(required=False, default="now")
    step = serializers.CharField(required=False, allow_blank=True, default="")
    agg = serializers.ChoiceField(choices=list(AGGREGATIONS), required=False, default="mean")
    group_by = serializers.ListField(child=serializers.CharField(trim_whitespace=False), required=False, default=list)


class HistorySeriesSerializer(serializers.Serializer):  # type: ignore[type-arg]
    field = serializers.CharField()
    tags = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text='with group_by, this series\' value of each group_by tag ("" for series without the tag); '
        "otherwise {}",
    )
    points = serializers.ListField(
        child=serializers.ListField(), help_text="[time (ISO 8601, UTC; bucket start), value] pairs"
    )


class HistorySerializer(serializers.Serializer):  # type: ignore[type-arg]
    device = serializers.CharField()
    measurement = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    step_seconds = serializers.FloatField()
    agg = serializers.CharField()
    series = HistorySeriesSerializer(many=True)


class SeriesFieldSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["float", "int", "str", "bool"])
    time = serializers.DateTimeField(help_text="time of the field's newest point (UTC)")
    value = serializers.JSONField(help_text="the newest value: number, string or boolean")


class DeviceSeriesSerializer(serializers.Serializer):  # type: ignore[type-arg]
    measurement = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField(), help_text="tags besides `device`")
    fields = SeriesFieldSerializer(many=True)  # type: ignore[assignment]  # a declared field (the output key), not Serializer.fields


class DeviceSeriesListSerializer(serializers.Serializer):  # type: ignore[type-arg]
    device = serializers.CharField(help_text="the device's name: the `device` tag and history's `device=`")
    slug = serializers.CharField()
    series = DeviceSeriesSerializer(many=True)
