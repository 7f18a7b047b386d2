"""Response shapes of the bandwidth API (for the OpenAPI schema and rendering)."""

from __future__ import annotations

from rest_framework import serializers


class ServiceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    kong_service = serializers.CharField()
    route = serializers.CharField(help_text="empty: every route of the Kong service counts")
    month_ingress_bytes = serializers.IntegerField()
    month_egress_bytes = serializers.IntegerField()


class BandwidthPointSerializer(serializers.Serializer):  # type: ignore[type-arg]
    time = serializers.DateTimeField(help_text="bucket start")
    type = serializers.ChoiceField(choices=["ingress", "egress"])
    service = serializers.CharField()
    route = serializers.CharField()
    bandwidth_used = serializers.IntegerField(allow_null=True, help_text="bytes in the bucket; null when none")


class ForecastSerializer(serializers.Serializer):  # type: ignore[type-arg]
    rate_bytes_per_second = serializers.FloatField(help_text="over the last 24 h (the service's life if shorter)")
    reaches_limit_at = serializers.DateTimeField(allow_null=True, help_text="null: no traffic, or already reached")
    within_period = serializers.BooleanField()


class QuotaSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    service = serializers.CharField()
    period = serializers.ChoiceField(choices=["monthly", "daily", "custom"])
    direction = serializers.ChoiceField(choices=["ingress", "egress", "total"])
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    used_bytes = serializers.IntegerField()
    limit_bytes = serializers.IntegerField()
    usage_percent = serializers.FloatField()
    thresholds = serializers.ListField(child=serializers.IntegerField())
    notified_thresholds = serializers.ListField(child=serializers.IntegerField())
    forecast = ForecastSerializer(allow_null=True, help_text="null when the time-series store did not answer")
