"""Load-test runs reported by Locust (the beacon_client.locust plugin or the seed's /apiv0.1 routes)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class LoadTestRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        ABANDONED = "abandoned"  # stopped reporting for LOADTEST_ABANDON_AFTER seconds

    class Mode(models.TextChoices):
        SINGLE = "single"
        CLUSTER = "cluster"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="loadtest_runs")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    target_host = models.CharField(max_length=500, blank=True, help_text="What was load-tested (Locust's --host).")
    host = models.CharField(max_length=255, blank=True, help_text="The machine Locust ran on.")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.SINGLE)
    users = models.PositiveIntegerField(default=0, help_text="Users (the seed's clients) asked for.")
    spawn_rate = models.FloatField(default=0, help_text="Users started per second (the seed's hatchRate).")
    # Runs are compared only within a plan; the plugin defaults it to the locustfile's name without .py.
    plan = models.CharField(max_length=100, default="default")
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True, help_text="Free-form {name: value} strings.")
    locust_version = models.CharField(max_length=32, blank=True)
    # Final results, per endpoint (name, method, requests, failures, fail_ratio, rps, avg/min/max, p50/p95/p99,
    # the response-time histogram), the aggregated row first. Written once, by the commit.
    stats = models.JSONField(default=list, blank=True)
    raw_stats = models.JSONField(null=True, blank=True, help_text="The seed's requestStats, stored as given.")
    requests = models.BigIntegerField(default=0)
    failures = models.BigIntegerField(default=0)
    exit_code = models.SmallIntegerField(null=True, blank=True)
    # Thresholds ("p95<300", "p95_regression<10%") as asked at registration; after the commit each one
    # also carries its result (loadtests.checks).
    checks = models.JSONField(default=list, blank=True)
    compared_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Baseline at commit."
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="loadtest_runs"
    )
    last_report_at = models.DateTimeField(default=timezone.now)
    is_baseline = models.BooleanField(default=False)
    # A baseline's stats series, copied from the store when pinned (at most one point per 10 s per endpoint),
    # so store retention cannot lose what later runs are compared with.
    baseline_series = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "plan"], condition=models.Q(is_baseline=True), name="one_baseline_per_plan"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "state"], name="loadtest_org_state"),
            models.Index(fields=["organization", "plan", "-started_at"], name="loadtest_org_plan_started"),
            models.Index(fields=["state", "last_report_at"], name="loadtest_state_report"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.started_at:%Y-%m-%d %H:%M} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.COMPLETED, self.State.FAILED)
