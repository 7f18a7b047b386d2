"""Kong services, the nodes scraped for their bandwidth counters, usage per period and quotas."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from portal import netguard


def _check_url(field: str, url: str) -> None:
    """Refuse at save time what the connect-time check would refuse anyway, with the reason."""
    if not url:
        return
    try:
        netguard.check_url(url)
    except netguard.UnsafeUrl as exc:
        raise ValidationError({field: str(exc)}) from None


class GatewayService(models.Model):
    """A customer's API as Kong names it. `route` empty counts every route of `kong_service`; set, only that one."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="gateway_services")
    name = models.SlugField(max_length=128, help_text="Beacon's name, used in URLs and the API.")
    kong_service = models.CharField(max_length=256, help_text="Kong's `service` label (the service name or host).")
    route = models.CharField(
        max_length=256, blank=True, help_text="Kong's `route` label; empty counts all of the service's routes."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_gateway_service_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.name


class ScrapeTarget(models.Model):
    """One Kong node's /metrics (`exporter`) or one Prometheus server that already scrapes Kong (`prometheus`)."""

    class Kind(models.TextChoices):
        EXPORTER = "exporter", "Kong node /metrics"
        PROMETHEUS = "prometheus", "Prometheus server (HTTP API)"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="scrape_targets")
    name = models.CharField(max_length=128, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.EXPORTER)
    url = models.URLField(
        max_length=1000,
        help_text="exporter: the node's metrics URL (http://kong-node-1:8001/metrics); "
        "prometheus: the server's base URL (http://prometheus:9090).",
    )
    auth_header = models.CharField(
        max_length=1000, blank=True, help_text="Sent as the Authorization header, e.g. 'Bearer …'. Never logged."
    )
    interval_seconds = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    last_scrape_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Claimed by quotas.scrape_due with a conditional UPDATE, so two beats enqueue a target once.
    next_scrape_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    # prometheus kind: the end of the last window already counted (aligned to interval_seconds).
    window_end = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name", "id"]

    def __str__(self) -> str:
        return self.name or self.url

    def clean(self) -> None:
        _check_url("url", self.url)


class CounterSnapshot(models.Model):
    """The last counter value of every series of one node, for reset detection.

    One row per target holding a JSON map (series key -> value) rather than a row per series: a
    scrape then reads and writes one row, and it is locked with the target so two scrapes of one
    node serialise and the second sees the first's values (no byte is counted twice).
    """

    target = models.OneToOneField(ScrapeTarget, on_delete=models.CASCADE, related_name="snapshot")
    counters = models.JSONField(default=dict)
    taken_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"counters of {self.target}"


class UsagePeriod(models.Model):
    """Bytes a service moved in [start, end); one row per distinct period its quotas (or the calendar month) use."""

    service = models.ForeignKey(GatewayService, on_delete=models.CASCADE, related_name="usage_periods")
    start = models.DateTimeField()
    end = models.DateTimeField()
    ingress_bytes = models.BigIntegerField(default=0)
    egress_bytes = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service", "-start"]
        constraints = [models.UniqueConstraint(fields=["service", "start", "end"], name="uniq_usage_period")]
        indexes = [models.Index(fields=["service", "end"])]

    def __str__(self) -> str:
        return f"{self.service} {self.start:%Y-%m-%d %H:%M}-{self.end:%Y-%m-%d %H:%M}"

    def used(self, direction: str) -> int:
        if direction == Quota.Direction.INGRESS:
            return self.ingress_bytes
        if direction == Quota.Direction.EGRESS:
            return self.egress_bytes
        return self.ingress_bytes + self.egress_bytes


def default_thresholds() -> list[int]:
    return [80, 90, 100]


class Quota(models.Model):
    class Period(models.TextChoices):
        MONTHLY = "monthly", "Monthly (from reset_day)"
        DAILY = "daily", "Daily (UTC midnight)"
        CUSTOM = "custom", "Custom (period_seconds from creation)"

    class Direction(models.TextChoices):
        INGRESS = "ingress", "Ingress (requests)"
        EGRESS = "egress", "Egress (responses)"
        TOTAL = "total", "Total"

    service = models.ForeignKey(GatewayService, on_delete=models.CASCADE, related_name="quotas")
    period = models.CharField(max_length=16, choices=Period.choices, default=Period.MONTHLY)
    reset_day = models.PositiveSmallIntegerField(
        default=1, help_text="monthly: the day of the month (1-28) a period starts, at 00:00 UTC."
    )
    period_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="custom: the period length; periods run back to back from creation."
    )
    limit_bytes = models.BigIntegerField()
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.TOTAL)
    thresholds = models.JSONField(default=default_thresholds, help_text="Percentages, e.g. [80, 90, 100].")
    recipients = models.JSONField(default=list, blank=True, help_text="Email addresses.")
    webhook_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The period the notified thresholds below belong to; a new period starts clean.
    notified_period_start = models.DateTimeField(null=True, blank=True, editable=False)
    notified_thresholds = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["service", "period"]
        constraints = [
            models.CheckConstraint(condition=models.Q(limit_bytes__gt=0), name="quota_limit_positive"),
            models.CheckConstraint(
                condition=models.Q(reset_day__gte=1, reset_day__lte=28), name="quota_reset_day_1_28"
            ),
            models.CheckConstraint(
                condition=~models.Q(period="custom") | models.Q(period_seconds__gte=60),
                name="quota_custom_needs_period_seconds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.get_period_display()} {self.limit_bytes} B {self.direction}"

    def clean(self) -> None:
        _check_url("webhook_url", self.webhook_url)
        if self.period == self.Period.CUSTOM and not self.period_seconds:
            raise ValidationError({"period_seconds": "a custom period needs period_seconds (at least 60)"})
        thresholds = self.thresholds
        if (
            not isinstance(thresholds, list)
            or not thresholds
            or not all(isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= 1000 for t in thresholds)
        ):
            raise ValidationError({"thresholds": "a non-empty list of whole percentages between 1 and 1000"})
        if len(set(thresholds)) != len(thresholds):
            raise ValidationError({"thresholds": "each threshold once"})
        recipients = self.recipients
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise ValidationError({"recipients": "a list of email addresses"})
        for address in recipients:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError({"recipients": f"{address!r} is not an email address"}) from None
