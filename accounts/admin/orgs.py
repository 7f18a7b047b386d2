"""Admin for organizations and memberships."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditEntry, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]
    verbose_name = "member"
    verbose_name_plural = "Members (people who can log in and see this organization's pages)"


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "device_count", "member_count", "active_key_count", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "created_at"]}),
        (
            "Device state thresholds",
            {
                "fields": ["stale_after", "offline_after"],
                "description": "A device seen within 'stale after' is live; within 'offline after' it is stale; "
                "later it is offline. Durations as HH:MM:SS, e.g. 00:02:00 for two minutes.",
            },
        ),
        ("Ingest", {"fields": ["auto_register_devices"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_devices=Count("devices", distinct=True),
                n_members=Count("memberships", distinct=True),
                n_active_keys=Count(
                    "api_keys",
                    filter=Q(api_keys__revoked_at__isnull=True)
                    & (Q(api_keys__expires_at__isnull=True) | Q(api_keys__expires_at__gt=now)),
                    distinct=True,
                ),
            )
        )

    @admin.display(description="devices", ordering="n_devices")
    def device_count(self, obj: Any) -> int:
        return int(obj.n_devices)

    @admin.display(description="members", ordering="n_members")
    def member_count(self, obj: Any) -> int:
        return int(obj.n_members)

    @admin.display(description="active API keys", ordering="n_active_keys")
    def active_key_count(self, obj: Any) -> int:
        return int(obj.n_active_keys)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__name", "organization__slug"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: entries are written by services, never edited."""

    list_display = ["at", "organization", "actor_label", "action", "target"]
    list_filter = ["action", "organization"]
    search_fields = ["target", "actor_label", "action"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
