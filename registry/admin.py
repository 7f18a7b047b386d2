"""Admin: gauges with value, last update and who updated; pushed groups with push time, TTL and expiry."""

from __future__ import annotations

from django.contrib import admin

from registry.models import Gauge, MetricType, PushGroup, RegistryPolicy


@admin.register(Gauge)
class GaugeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "labels_key", "organization", "kind", "value", "updated_at", "updated_by", "expires_at"]
    list_filter = ["organization", "kind"]
    search_fields = ["name", "description"]
    readonly_fields = ["labels_key", "updated_at", "updated_by", "expires_at", "created_at"]
    list_select_related = ["organization", "updated_by"]


@admin.register(PushGroup)
class PushGroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["grouping_key", "organization", "pushed_at", "failed_at", "ttl_seconds", "expires_at", "pushed_by"]
    list_filter = ["organization"]
    search_fields = ["grouping_key"]
    readonly_fields = ["grouping_key", "labels", "families", "pushed_at", "failed_at", "expires_at", "pushed_by"]
    list_select_related = ["organization", "pushed_by"]


@admin.register(MetricType)
class MetricTypeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "kind", "organization"]
    list_filter = ["organization", "kind"]
    search_fields = ["name"]


@admin.register(RegistryPolicy)
class RegistryPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["organization", "default_group_ttl_seconds"]
