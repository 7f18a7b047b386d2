"""Delete stored points older than TIMESERIES_RETENTION_DAYS (sql backend). Safe to run at any time, e.g. daily."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from timeseries.retention import timeseries_prune


class Command(BaseCommand):
    help = "Delete time-series points older than TIMESERIES_RETENTION_DAYS from the sql backend, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="override TIMESERIES_RETENTION_DAYS")
        parser.add_argument("--batch-size", type=int, default=10_000, help="rows deleted per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] or settings.TIMESERIES_RETENTION_DAYS
        if settings.TIMESERIES_BACKEND != "sql":
            self.stdout.write(
                "TIMESERIES_BACKEND is influx: InfluxDB enforces retention itself (retention policy or bucket "
                "retention, see docs/timeseries.md); nothing to prune here."
            )
            return
        self.stdout.write(f"Pruning points older than {days} days in batches of {options['batch_size']}...")

        def progress(deleted: int, total: int) -> None:
            self.stdout.write(f"  deleted {deleted} (total {total})")

        total = timeseries_prune(retention_days=days, batch_size=options["batch_size"], on_batch=progress)
        self.stdout.write(self.style.SUCCESS(f"Deleted {total} points older than {days} days."))
