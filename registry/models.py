"""The gauge registry's tables: gauges (MetricNexus), pushed groups (Pushgateway), one type per metric name.

Hot paths (inc/dec, push) write these tables with hand-written SQL in registry/sql.py; the models are the
schema, the admin and the pages' reads.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from registry.textformat import render_labels


class Kind(models.TextChoices):
    GAUGE = "gauge", "gauge"
    COUNTER = "counter", "counter"
    # Only pushed groups carry these (the text format's other types).
    UNTYPED = "untyped", "untyped"
    SUMMARY = "summary", "summary"
    HISTOGRAM = "histogram", "histogram"


class MetricType(models.Model):
    """A metric name's one type in an organization, shared by gauges and pushed groups, so no scrape sees
    one name with two types. Fixed on first use; the wipe releases names no gauge uses."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="registry_type_uniq")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Gauge(models.Model):
    """One series: a name and its labels (identity), a value, an optional TTL after the last update."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    labels = models.JSONField(default=dict, blank=True)
    # The labels in one canonical string (sorted, JSON), so (organization, name, labels) can be unique.
    labels_key = models.CharField(max_length=2000, default="{}", editable=False)
    # name + labels_key: unique in the organization and in name order, the position of list pages' cursors.
    identity = models.CharField(max_length=2200, default="", editable=False)
    # The labels as the exposition writes them (`{a="1",b="2"}`), rendered once when the gauge is saved so a
    # scrape of 10,000 gauges concatenates text in SQL instead of rendering every label set (save() keeps it;
    # bulk_create must set it).
    rendered_labels = models.TextField(default="", editable=False)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices[:2], default=Kind.GAUGE)
    value = models.FloatField(default=0.0)
    ttl_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Gone this long after an update.")
    expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["identity"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name", "labels_key"], name="registry_gauge_uniq"),
            models.UniqueConstraint(fields=["organization", "identity"], name="registry_gauge_identity"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="registry_gauge_expiry"),
            models.Index(fields=["organization", "-updated_at"], name="registry_gauge_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.name}{self.labels_key if self.labels else ''}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.rendered_labels = render_labels(self.labels or {})
        super().save(*args, **kwargs)


class PushGroup(models.Model):
    """One Pushgateway group: its grouping key and every sample pushed to it, pre-rendered.

    `families` maps a metric name to [type, help, exposition lines]; lines already carry the grouping labels,
    so a scrape concatenates them (in SQL, per family across groups). `rendered_labels` is the grouping key as
    push_time_seconds carries it. A push writes this one row, whatever else is stored.
    """

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    grouping_key = models.CharField(max_length=2000, editable=False)
    labels = models.JSONField(default=dict)
    rendered_labels = models.TextField(default="", editable=False)
    families = models.JSONField(default=dict)
    pushed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    ttl_seconds = models.PositiveIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    pushed_by = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["grouping_key"]
        constraints = [models.UniqueConstraint(fields=["organization", "grouping_key"], name="registry_group_uniq")]
        indexes = [models.Index(fields=["expires_at"], name="registry_group_expiry")]

    def __str__(self) -> str:
        return self.grouping_key


class RegistryPolicy(models.Model):
    """An organization's registry defaults (a missing row: the site defaults)."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    default_group_ttl_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Pushed groups without ?ttl= expire this long after their last push."
    )

    class Meta:
        verbose_name_plural = "registry policies"

    def __str__(self) -> str:
        return f"registry policy of {self.organization}"
