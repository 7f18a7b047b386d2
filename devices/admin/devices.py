"""Admin for devices: state computed in SQL, filterable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from devices import selectors
from devices.models import Device


class DeviceStateFilter(admin.SimpleListFilter):
    """Filter on the state computed in SQL from last_seen_at and the org's thresholds."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("live", "Live (seen recently)"),
            ("stale", "Stale (late)"),
            ("offline", "Offline"),
            ("unseen", "Never seen"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value in selectors.STATES:
            return queryset.filter(state=value)
        return queryset


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "state", "last_seen_at", "tags", "created_at"]
    list_filter = ["organization", DeviceStateFilter]
    search_fields = ["name", "slug", "tags", "organization__name", "organization__slug"]
    list_select_related = ["organization"]
    prepopulated_fields = {"slug": ("name",)}
    # Decommissioning is an org admin's audited action (Settings → Devices); here it is shown, not edited.
    readonly_fields = ["state", "last_seen_at", "decommissioned_at", "created_at"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "slug", "description"]}),
        ("Tags", {"fields": ["tags"], "description": 'A JSON object of labels, e.g. {"site": "lab", "rack": "3"}.'}),
        ("Status", {"fields": ["state", "last_seen_at", "decommissioned_at", "created_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Device]:
        return selectors.device_annotate_state(super().get_queryset(request))

    @admin.display(description="state", ordering="state_rank")
    def state(self, obj: Any) -> str:
        # get_queryset annotates the state in SQL (list and change pages); the add page has none yet.
        return str(getattr(obj, "state", "—"))
