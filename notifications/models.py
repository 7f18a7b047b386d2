"""Notifications, the webhook endpoints they go to, and one delivery (with its attempt log) per target."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal import netguard

# The spec allows 24..64 random bytes; 32 (256 bits) matches the HMAC-SHA256 output size.
SECRET_BYTES = 32
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format marker, not a secret


def generate_webhook_secret() -> str:
    """A Standard Webhooks symmetric secret: `whsec_` + base64 of random bytes, stored in this form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def generate_msg_id() -> str:
    # Stable for the life of one delivery: receivers use it as their idempotency key.
    return f"msg_{uuid.uuid4().hex}"


class Notification(models.Model):
    """One event worth telling an organization about; `dedup_key` makes sending it at most once."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64, help_text="The feature that sent it, e.g. quota.threshold.")
    event_type = models.CharField(max_length=100, help_text="The webhook `type`, e.g. quota.threshold_crossed.")
    dedup_key = models.CharField(max_length=255, unique=True)
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class WebhookEndpoint(models.Model):
    """A URL an organization receives webhooks at; one per distinct URL, each with its own signing secret."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=120, default=generate_webhook_secret, editable=False)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "url"]
        constraints = [models.UniqueConstraint(fields=["organization", "url"], name="uniq_webhook_url_per_org")]

    def __str__(self) -> str:
        return self.url

    def clean(self) -> None:
        try:
            netguard.check_url(self.url)
        except netguard.UnsafeUrl as exc:
            raise ValidationError({"url": str(exc)}) from None


class Delivery(models.Model):
    """One notification to one target. pending → sending → sent | failed; back to pending for a retry."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    email = models.EmailField(max_length=254, blank=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts since it was queued (or resent).")
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    webhook_msg_id = models.CharField(max_length=64, default=generate_msg_id, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel="email") & ~Q(email="") & Q(endpoint__isnull=True))
                | (Q(channel="webhook") & Q(email="") & Q(endpoint__isnull=False)),
                name="delivery_target_matches_channel",
            ),
            models.UniqueConstraint(
                fields=["notification", "email"], condition=Q(channel="email"), name="uniq_delivery_email"
            ),
            models.UniqueConstraint(
                fields=["notification", "endpoint"], condition=Q(channel="webhook"), name="uniq_delivery_endpoint"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.target} ({self.status})"

    @property
    def target(self) -> str:
        return self.email if self.channel == self.Channel.EMAIL else str(self.endpoint)


class DeliveryAttempt(models.Model):
    """Every attempt, kept: what was tried, when, and what came back."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    ok = models.BooleanField(default=False)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the retry is due, if any.")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="uniq_attempt_number")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
