"""`manage.py quotas_demo_seed --ports A,B`: the demo org's Kong services, the simulator's nodes as targets,
and a quota sized so `shop` crosses 80 % a few minutes after `make demo` starts (emails on the console)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from quotas.models import GatewayService, Quota, ScrapeTarget


class Command(BaseCommand):
    help = "Create (or reset) the demo organization's gateway services, scrape targets and quotas."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default="demo")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--ports", default="9180,9181")
        parser.add_argument("--bytes-per-second", type=int, default=25_000, help="what kong_simulator sends")
        parser.add_argument("--minutes-to-80", type=float, default=3.0)

    def handle(self, *args: Any, org: str, host: str, ports: str, bytes_per_second: int, **options: Any) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"no organization {org!r}; run `manage.py demo_seed` first")
        shop, _ = GatewayService.objects.get_or_create(organization=organization, name="shop", kong_service="shop-svc")
        GatewayService.objects.get_or_create(organization=organization, name="maps", kong_service="maps-svc")
        GatewayService.objects.get_or_create(
            organization=organization, name="shop-checkout", kong_service="shop-svc", route="checkout"
        )
        ScrapeTarget.objects.filter(organization=organization).delete()
        for name, port in zip(("kong-node-a (2.8)", "kong-node-b (3.7)"), ports.split(","), strict=True):
            ScrapeTarget.objects.create(
                organization=organization, name=name, url=f"http://{host}:{port}/metrics", interval_seconds=10
            )
        # Egress + ingress of shop ≈ 1.05 x bytes_per_second; 80 % of the limit after `minutes_to_80`.
        limit = int(bytes_per_second * 1.05 * options["minutes_to_80"] * 60 / 0.8)
        Quota.objects.filter(service=shop).delete()  # a fresh custom period starts now
        Quota.objects.create(
            service=shop,
            period=Quota.Period.CUSTOM,
            period_seconds=3600,
            limit_bytes=limit,
            direction=Quota.Direction.TOTAL,
            recipients=["ops@demo.example"],
        )
        Quota.objects.create(service=shop, period=Quota.Period.MONTHLY, limit_bytes=50 * 10**9, recipients=[])
        self.stdout.write(f"shop: hourly quota of {limit} bytes (80 % in ~{options['minutes_to_80']:g} min)")
