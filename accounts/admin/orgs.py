"""Admin for organizations and memberships."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import Actor
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

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        # Memberships edited inline go through the same audited services as the member admin.
        actor = Actor(user=request.user)
        with transaction.atomic():
            for inline in formset.forms:
                if not inline.has_changed() and inline not in formset.deleted_forms:
                    continue
                _audit_membership_form(inline, actor, deleted=inline in formset.deleted_forms)
            super().save_formset(request, form, formset, change)

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

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        with transaction.atomic():
            _audit_membership(obj, Actor(user=request.user), old=_stored(obj))
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        with transaction.atomic():
            _audit_membership(obj, Actor(user=request.user), old=_stored(obj), deleted=True)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        with transaction.atomic():
            for membership in queryset.select_related("user", "organization"):
                _audit_membership(membership, Actor(user=request.user), old=_stored(membership), deleted=True)
            super().delete_queryset(request, queryset)


def _stored(membership: Membership) -> Membership | None:
    if membership.pk is None:
        return None
    return Membership.objects.select_related("user", "organization").filter(pk=membership.pk).first()


def _audit_membership(membership: Membership, actor: Actor, *, old: Membership | None, deleted: bool = False) -> None:
    """The audit entry of a membership saved or deleted in the admin (staff: the last-admin rule of the
    settings pages does not bind them, but every change is recorded in the organization's log)."""
    user = membership.user.get_username()
    if deleted:
        actor.record(
            organization=membership.organization,
            action="membership.remove",
            target=f"member '{user}'",
            before={"user": user, "role": old.role if old else membership.role},
        )
    elif old is None:
        actor.record(
            organization=membership.organization,
            action="membership.add",
            target=f"member '{user}'",
            after={"user": user, "role": membership.role},
        )
    elif old.role != membership.role or old.organization_id != membership.organization_id:
        if old.organization_id != membership.organization_id:
            _audit_membership(old, actor, old=old, deleted=True)
            _audit_membership(membership, actor, old=None)
            return
        actor.record(
            organization=membership.organization,
            action="membership.change_role",
            target=f"member '{user}'",
            before={"role": old.role},
            after={"role": membership.role},
        )


def _audit_membership_form(inline: Any, actor: Actor, *, deleted: bool) -> None:
    membership = inline.instance
    if membership.user_id is None:
        return  # an empty extra row
    _audit_membership(membership, actor, old=_stored(membership), deleted=deleted)


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
