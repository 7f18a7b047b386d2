"""Tenants, their members, and the API keys that act for them (tables keep their devices_* names)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    # Device state thresholds: seen within stale_after → live; within offline_after → stale.
    stale_after = models.DurationField(default=timedelta(minutes=2))
    offline_after = models.DurationField(default=timedelta(minutes=15))
    auto_register_devices = models.BooleanField(
        default=True, help_text="Create a device on first write from an org-wide key; otherwise reject it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "devices_organization"  # moved from `devices` without copying rows
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        db_table = "devices_membership"
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"


class ApiKey(models.Model):
    """An API key `bcn_<key_id>_<secret>`; only HMAC(secret, pepper) is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    device = models.ForeignKey(
        "devices.Device",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="A device-bound key can only act for this device.",
    )
    name = models.CharField(max_length=128)
    key_id = models.CharField(max_length=32, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    rate_limit = models.CharField(
        max_length=32, blank=True, help_text="Requests per period, e.g. '1200/m'. Empty: the site default."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rotated_to", editable=False
    )

    class Meta:
        db_table = "devices_apikey"
        ordering = ["organization", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (bcn_{self.key_id}_…, {self.organization})"

    @property
    def prefix(self) -> str:
        return f"bcn_{self.key_id}_"

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or self.expires_at > now

    @staticmethod
    def device_model() -> type[models.Model]:
        """The device model keys bind to, reached through the foreign key: devices is a higher layer."""
        model = ApiKey._meta.get_field("device").related_model
        assert isinstance(model, type)
        return model

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes  # a scope no longer registered still works for keys that hold it

    def can_act_for_device(self, device: Any) -> bool:
        """True if this key may read or write `device`'s data.

        An org-wide key acts for every device of its org; a device-bound key only for its own device.
        """
        if device.organization_id != self.organization_id:
            return False
        return self.device_id is None or self.device_id == device.id

    # The rate-limit side of portal.api.permissions.Grant.
    @property
    def ratelimit_bucket(self) -> str:
        return self.key_id

    @property
    def ratelimit_rate(self) -> str:
        return self.rate_limit or settings.API_KEY_DEFAULT_RATE

    @property
    def ratelimit_label(self) -> str:
        return f"key {self.prefix}…"


class AuditEntry(models.Model):
    """One configuration change in an organization, by a member (session) or a key: who, what, before/after.

    Written by `accounts.audit.audit_record` inside the change's own transaction, so a change that rolls back
    leaves no entry. Actors are kept as labels too: deleting a user or a key keeps the history readable.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_entries")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200)  # "alice" or "key bcn_0123…_" at the time of the change
    action = models.CharField(max_length=64)  # "<entity>.<verb>", e.g. "api_key.issue", "alert_rule.update"
    target = models.CharField(max_length=200)  # what was changed, as shown to people: "API key 'agent-1'"
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organization", "-at"], name="audit_org_at")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.action} {self.target}"


class Invitation(models.Model):
    """An org admin's invitation of an email address to a role; the emailed link carries a token over this row.

    The token (accounts.invitations) hashes `accepted_at`, so accepting once invalidates the link, and embeds
    its creation time, so it expires after INVITATION_TIMEOUT_SECONDS. Nothing secret is stored here.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default=Membership.Role.VIEWER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"
