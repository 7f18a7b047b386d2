"""A requested deletion of one device's stored data, run by a Celery task (ingest.deletion) with progress."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DataDeletion(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Queued"
        RUNNING = "running", "Deleting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="data_deletions")
    device_name = models.CharField(max_length=128)  # the `device` tag deleted: the name when it was asked
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    done = models.PositiveIntegerField(default=0)  # series (sql) or measurements (influx) finished ...
    total = models.PositiveIntegerField(null=True, blank=True)  # ... of this many (known once it started)
    deleted = models.BigIntegerField(default=0)  # points (sql) or measurements (influx) deleted
    backend = models.CharField(max_length=16, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"delete data of {self.device_name} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return int(100 * self.done / self.total)

    @property
    def active(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)
