"""Admin for alerts: rules (with their states), states, silences and the history of transitions.

States and events are written by the evaluation only, so they are read-only here; rules and silences are
edited as on the pages (model validation: threshold fields, hysteresis side, recipients, SSRF-checked URL).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alerts.models import AlertEvent, AlertRule, AlertState, Silence


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StateInline(admin.TabularInline):
    model = AlertState
    extra = 0
    can_delete = False
    fields = readonly_fields = ("device", "series", "state", "since", "last_value", "last_notified_at", "silenced")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).exclude(state=AlertState.State.OK).select_related("device")


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "kind", "enabled", "describe", "last_evaluated_at", "last_error")
    list_filter = ("kind", "enabled", "organization")
    search_fields = ("name", "organization__name")
    filter_horizontal = ("devices",)
    readonly_fields = ("created_at", "updated_at", "last_evaluated_at", "last_error", "last_error_at")
    inlines = [StateInline]


@admin.register(AlertState)
class AlertStateAdmin(_ReadOnly):
    list_display = ("rule", "device", "series", "state", "since", "last_value", "last_notified_at", "silenced")
    list_filter = ("state", "silenced", "rule__organization")
    search_fields = ("rule__name", "device__name", "series")
    list_select_related = ("rule", "device")


@admin.register(AlertEvent)
class AlertEventAdmin(_ReadOnly):
    list_display = ("at", "rule", "device", "series", "kind", "value", "silenced")
    list_filter = ("kind", "silenced", "organization")
    search_fields = ("rule__name", "device__name")
    list_select_related = ("rule", "device")
    date_hierarchy = "at"


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ("organization", "rule", "starts_at", "ends_at", "reason", "created_by")
    list_filter = ("organization",)
    filter_horizontal = ("devices",)
    raw_id_fields = ("rule",)
    readonly_fields = ("created_by", "created_at")
