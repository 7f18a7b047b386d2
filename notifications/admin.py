"""Admin: notifications with their deliveries, every attempt, and webhook endpoints (why one is disabled).

The delivery log is read-only: rows change only through notifications.services. Actions that send or
change something require the change permission on the model.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from notifications import services
from notifications.models import Delivery, DeliveryAttempt, Notification, WebhookEndpoint


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(_ReadOnlyInline):
    model = Delivery
    fields = readonly_fields = (
        "channel", "target", "status", "attempts", "next_attempt_at", "response_code", "last_error"
    )  # fmt: skip


class AttemptInline(_ReadOnlyInline):
    model = DeliveryAttempt
    show_change_link = False
    fields = readonly_fields = (
        "number", "started_at", "duration_ms", "ok", "response_code", "error", "next_attempt_at"
    )  # fmt: skip


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "organization", "created_at", "delivery_status"]
    list_filter = ["kind", "organization"]
    search_fields = ["subject", "dedup_key", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "organization",
        "kind",
        "event_type",
        "dedup_key",
        "subject",
        "text",
        "html",
        "payload",
        "created_at",
    ]
    inlines = [DeliveryInline]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="deliveries")
    def delivery_status(self, obj: Notification) -> str:
        counts: dict[str, int] = {}
        for delivery in obj.deliveries.all():
            counts[delivery.status] = counts.get(delivery.status, 0) + 1
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return super().get_queryset(request).prefetch_related("deliveries")

    @admin.action(description="Resend the selected notifications (finished deliveries)", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        queued = sum(services.notification_resend(notification=n) for n in queryset)
        self.message_user(request, f"{queued} deliveries queued again.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "notification",
        "channel",
        "target",
        "status",
        "attempts",
        "next_attempt_at",
        "response_code",
        "short_error",
    ]
    list_filter = ["status", "channel", "notification__organization"]
    search_fields = ["email", "endpoint__url", "notification__subject", "webhook_msg_id"]
    list_select_related = ["notification", "endpoint"]
    readonly_fields = [
        "notification",
        "channel",
        "email",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "response_code",
        "webhook_msg_id",
        "sent_at",
        "created_at",
    ]
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="last error")
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:80]

    @admin.action(description="Resend the selected deliveries", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        queued = sum(services.delivery_resend(delivery=d) for d in queryset)
        skipped = queryset.count() - queued
        note = f" {skipped} still in flight were left alone." if skipped else ""
        self.message_user(request, f"{queued} deliveries queued again.{note}", messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "enabled", "disabled_reason", "disabled_at", "created_at"]
    list_filter = ["enabled", "organization"]
    search_fields = ["url", "organization__name"]
    list_select_related = ["organization"]
    fields = [
        "organization",
        "url",
        "enabled",
        "disabled_reason",
        "disabled_at",
        "signing_secret",
        "secret_rotated_at",
        "created_at",
    ]
    readonly_fields = ["disabled_reason", "disabled_at", "signing_secret", "secret_rotated_at", "created_at"]
    actions = ["send_test", "rotate_secret", "enable"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="signing secret")
    def signing_secret(self, obj: WebhookEndpoint) -> str:
        # Receivers need it to verify signatures (docs/notifications.md); rotate it if it leaked.
        return format_html("<code>{}</code>", obj.secret) if obj.pk else "generated on save"

    @admin.action(description="Send a test notification", permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset.select_related("organization"):
            services.notification_send_test(organization=endpoint.organization, webhook_urls=[endpoint.url])
        self.message_user(request, f"Test notification queued for {queryset.count()} endpoints.", messages.SUCCESS)

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.webhook_endpoint_rotate_secret(endpoint=endpoint)
        self.message_user(request, f"New secrets for {queryset.count()} endpoints.", messages.SUCCESS)

    @admin.action(description="Enable (clears the disabled reason)", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.webhook_endpoint_enable(endpoint=endpoint)
        self.message_user(request, f"{queryset.count()} endpoints enabled.", messages.SUCCESS)
