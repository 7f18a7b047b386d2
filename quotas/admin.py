"""Admin: services, scrape targets (last scrape, last error, "scrape now"), quotas with a usage bar and forecast."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from quotas import scraping
from quotas.models import GatewayService, Quota, ScrapeTarget, UsagePeriod
from quotas.status import QuotaStatus, forecast, quota_statuses
from quotas.templatetags.quotas_format import bytes_human


class QuotaInline(admin.TabularInline):
    model = Quota
    extra = 0
    fields = ["period", "reset_day", "period_seconds", "limit_bytes", "direction", "thresholds", "recipients"]


@admin.register(GatewayService)
class GatewayServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kong_service", "route", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "kong_service", "route"]
    inlines = [QuotaInline]


class ScrapeTargetForm(forms.ModelForm):  # type: ignore[type-arg]
    """The auth header may carry a token: it is never echoed back into the page; empty keeps the saved one."""

    auth_header = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.PasswordInput(render_value=False),
        help_text="Sent as the Authorization header, e.g. 'Bearer …'. Leave empty to keep the current one.",
    )
    clear_auth_header = forms.BooleanField(required=False, label="Remove the auth header")

    class Meta:
        model = ScrapeTarget
        fields = ["organization", "name", "kind", "url", "auth_header", "interval_seconds", "enabled"]

    def clean_auth_header(self) -> str:
        value = str(self.cleaned_data.get("auth_header") or "")
        if self.data.get("clear_auth_header"):
            return ""
        return value or (self.instance.auth_header if self.instance.pk else "")


@admin.register(ScrapeTarget)
class ScrapeTargetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "kind", "enabled", "interval_seconds", "last_scrape_at", "state"]
    list_filter = ["organization", "kind", "enabled"]
    search_fields = ["name", "url"]
    readonly_fields = ["last_scrape_at", "last_success_at", "last_error", "next_scrape_at", "window_end"]
    actions = ["scrape_now"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organization",
                    "name",
                    "kind",
                    "url",
                    "auth_header",
                    "clear_auth_header",
                    "interval_seconds",
                    "enabled",
                ]
            },
        ),
        (
            "Last scrape",
            {"fields": ["last_scrape_at", "last_success_at", "last_error", "next_scrape_at", "window_end"]},
        ),
    ]

    @admin.display(description="state")
    def state(self, target: ScrapeTarget) -> str:
        if target.last_scrape_at is None:
            return "never scraped"
        if target.last_error:
            return format_html('<span style="color:#b00">error: {}</span>', target.last_error[:160])
        return "ok"

    form = ScrapeTargetForm

    @admin.action(description="Scrape now (and evaluate quotas)", permissions=["change"])
    def scrape_now(self, request: HttpRequest, queryset: QuerySet[ScrapeTarget]) -> None:
        touched, crossings = 0, 0
        for target in queryset:
            result = scraping.scrape_target(target.id)  # evaluates the quotas whose usage moved
            touched, crossings = touched + len(result.service_ids), crossings + len(result.crossings)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{target}: {result.summary()}", level)
        if touched:
            self.message_user(request, f"quotas evaluated; {crossings} threshold crossing(s)")


def _usage_bar(percent: float) -> str:
    width = max(0.0, min(percent, 100.0))
    colour = "#2a7" if percent < 80 else "#e90" if percent < 100 else "#c22"
    return format_html(
        '<div style="width:140px;background:#eee;border-radius:3px" title="{}%">'
        '<div style="width:{}%;background:{};height:10px;border-radius:3px"></div></div>{}%',
        f"{percent:.1f}",
        f"{width:.1f}",
        colour,
        f"{percent:.1f}",
    )


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "limit", "usage", "notified", "forecast_at"]
    list_filter = ["period", "direction", "service__organization"]
    search_fields = ["service__name"]
    readonly_fields = ["created_at", "notified_period_start", "notified_thresholds", "current_usage"]
    list_select_related = ["service", "service__organization"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        self._statuses: dict[int, QuotaStatus] = {}
        return super().changelist_view(request, extra_context)

    def _status(self, quota: Quota) -> QuotaStatus:
        cache = getattr(self, "_statuses", {})
        if quota.id not in cache:
            cache[quota.id] = quota_statuses([quota], now=timezone.now())[0]
        return cache[quota.id]

    @admin.display(description="organization")
    def organization(self, quota: Quota) -> str:
        return str(quota.service.organization)

    @admin.display(description="limit")
    def limit(self, quota: Quota) -> str:
        return bytes_human(quota.limit_bytes)

    @admin.display(description="usage this period")
    def usage(self, quota: Quota) -> str:
        status = self._status(quota)
        return _usage_bar(status.usage_percent)

    @admin.display(description="notified")
    def notified(self, quota: Quota) -> str:
        return ", ".join(f"{t}%" for t in self._status(quota).notified_thresholds) or "-"

    @admin.display(description="100 % at (24 h rate)")
    def forecast_at(self, quota: Quota) -> str:
        prediction = forecast(self._status(quota))
        if prediction is None:
            return "unknown"
        if prediction.reaches_limit_at is None:
            return "reached" if prediction.within_period else "no traffic"
        when = f"{prediction.reaches_limit_at:%Y-%m-%d %H:%M} UTC"
        return when if prediction.within_period else f"{when} (after the period)"

    @admin.display(description="current period")
    def current_usage(self, quota: Quota) -> str:
        if quota.pk is None:
            return "-"
        status = self._status(quota)
        return format_html(
            "{} of {} from {} to {} UTC {}",
            bytes_human(status.used_bytes),
            bytes_human(quota.limit_bytes),
            f"{status.period_start:%Y-%m-%d %H:%M}",
            f"{status.period_end:%Y-%m-%d %H:%M}",
            _usage_bar(status.usage_percent),
        )


@admin.register(UsagePeriod)
class UsagePeriodAdmin(admin.ModelAdmin):
    list_display = ["service", "start", "end", "ingress", "egress", "updated_at"]
    list_filter = ["service__organization"]
    list_select_related = ["service"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # totals are written by scrapes only

    @admin.display(description="ingress")
    def ingress(self, period: UsagePeriod) -> str:
        return bytes_human(period.ingress_bytes)

    @admin.display(description="egress")
    def egress(self, period: UsagePeriod) -> str:
        return bytes_human(period.egress_bytes)
