"""`manage.py scrape [--target ID]`: scrape, evaluate quotas and deliver notifications inline, with progress."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.services import deliveries_run_due
from quotas import scraping
from quotas.evaluation import Crossing
from quotas.models import ScrapeTarget


class Command(BaseCommand):
    help = "Scrape Kong targets now (every enabled one, or --target ID), evaluate quotas, send notifications."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--target", type=int, action="append", help="a target id (repeatable); default: all enabled"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[int] = options["target"] or list(
            ScrapeTarget.objects.filter(enabled=True).values_list("id", flat=True)
        )
        missing = set(ids) - set(ScrapeTarget.objects.filter(id__in=ids).values_list("id", flat=True))
        if missing:
            raise CommandError(f"no scrape target with id {', '.join(map(str, sorted(missing)))}")
        failed = 0
        touched: set[int] = set()
        crossings: list[Crossing] = []
        for target_id in ids:
            target = ScrapeTarget.objects.get(id=target_id)
            self.stdout.write(f"scraping {target_id} ({target.kind} {target.url}) ... ", ending="")
            result = scraping.scrape_target(target_id)
            touched |= result.service_ids
            crossings += result.crossings
            if result.ok:
                self.stdout.write(self.style.SUCCESS(result.summary()))
            else:
                failed += 1
                self.stdout.write(self.style.ERROR(result.summary()))
        for crossing in crossings:
            state = "notification created" if crossing.sent else "already notified"
            used = f"{crossing.usage_percent:.1f}% used"
            self.stdout.write(f"quota {crossing.quota_id}: {used}, {crossing.threshold}% threshold: {state}")
        self.stdout.write(f"evaluated quotas of {len(touched)} service(s); {len(crossings)} threshold crossing(s)")
        delivered = deliveries_run_due()
        self.stdout.write(f"deliveries attempted: {delivered}")
        if failed:
            raise CommandError(f"{failed} of {len(ids)} target(s) failed; see above")
