"""Tenants, their members, their devices and the API keys that act for them."""

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
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"


class Device(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=128)
    tags = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_device_name_per_org"),
            models.UniqueConstraint(fields=["organization", "slug"], name="uniq_device_slug_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization})"


class Scope(models.TextChoices):
    METRICS_WRITE = "metrics:write", "Write metrics"
    METRICS_READ = "metrics:read", "Read metrics"
    LOADTESTS_WRITE = "loadtests:write", "Write load-test runs"
    GAUGES_WRITE = "gauges:write", "Write gauges"
    GAUGES_READ = "gauges:read", "Read gauges"
    SCRAPE = "scrape", "Scrape Prometheus exposition"


class ApiKey(models.Model):
    """An API key `bcn_<key_id>_<secret>`; only HMAC(secret, pepper) is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    device = models.ForeignKey(
        Device,
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

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

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
