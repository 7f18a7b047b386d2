"""`manage.py alerts_demo_seed`: the demo organization's alert rules and its simulated device; safe to rerun.

Rules: "Device offline" (no data for 60 s, pending 30 s), "CPU busy" (mean cpu usage_user over 1 min
> 80 % for 1 min, resolves below 60 %), "Disk almost full" (per mount path). `alerts_demo_source` then
drives the simulated device across them, so firing and resolved emails appear in the worker's console.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from alerts.models import AlertRule
from devices import services as devices
from devices.models import Device

SIMULATED = "edge-sim"
RECIPIENTS = ["ops@demo.example.com"]
RULES: list[dict[str, Any]] = [
    {"name": "Device offline", "kind": "offline", "grace_seconds": 60, "for_seconds": 30},
    {
        "name": "CPU busy", "kind": "threshold", "measurement": "cpu", "field": "usage_user", "aggregation": "mean",
        "window_seconds": 60, "operator": ">", "value": 80.0, "recovery_value": 60.0, "for_seconds": 60,
    },
    {
        "name": "Disk almost full", "kind": "threshold", "measurement": "disk", "field": "used_percent",
        "aggregation": "last", "window_seconds": 120, "split_by": "path", "operator": ">", "value": 90.0,
        "recovery_value": 85.0, "for_seconds": 0, "repeat_seconds": 3600,
    },
]  # fmt: skip


class Command(BaseCommand):
    help = "Create the demo org's alert rules and its simulated device (edge-sim)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default="demo", help="organization slug (default: demo)")

    def handle(self, *args: Any, org: str, **options: Any) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization {org!r}; run `manage.py demo_seed` first")
        if not Device.objects.filter(organization=organization, name=SIMULATED).exists():
            devices.device_create(organization=organization, name=SIMULATED, tags={"site": "demo", "simulated": "1"})
            self.stdout.write(f"Created device {SIMULATED}.")
        for spec in RULES:
            rule, created = AlertRule.objects.get_or_create(
                organization=organization, name=spec["name"], defaults={**spec, "recipients": RECIPIENTS}
            )
            self.stdout.write(f"{'Created' if created else 'Kept'} alert rule {rule.name!r}: {rule.describe()}.")
