"""Admin: runs listed and inspected; "pin as baseline" calls the same service as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from loadtests import services
from loadtests.models import LoadTestRun
from portal.api.errors import ApiError


@admin.register(LoadTestRun)
class LoadTestRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "uuid",
        "organization",
        "plan",
        "state",
        "started_at",
        "ended_at",
        "requests",
        "failures",
        "is_baseline",
    )
    list_filter = ("state", "is_baseline", "mode", "organization")
    search_fields = ("uuid", "plan", "target_host", "description")
    date_hierarchy = "started_at"
    list_select_related = ("organization",)
    actions = ["pin_as_baseline"]
    readonly_fields = [f.name for f in LoadTestRun._meta.fields]
    exclude = ("baseline_series",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs come from Locust

    @admin.action(description="Pin as baseline of its plan", permissions=["change"])
    def pin_as_baseline(self, request: HttpRequest, queryset: QuerySet[LoadTestRun]) -> None:
        for run in queryset:
            try:
                services.run_pin_baseline(run=run)
            except ApiError as exc:
                self.message_user(request, f"{run}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{run} is now the baseline of plan {run.plan!r}.", messages.SUCCESS)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f for f in self.readonly_fields if f != "baseline_series"]
