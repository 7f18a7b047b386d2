"""Devices of an organization; their state (live/stale/offline) is computed in SQL (devices.selectors)."""

from __future__ import annotations

from django.db import models


class Device(models.Model):
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=128)
    tags = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Set by an org admin: writes for the device are refused (403 naming it); its history stays readable.
    decommissioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_device_name_per_org"),
            models.UniqueConstraint(fields=["organization", "slug"], name="uniq_device_slug_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization})"
