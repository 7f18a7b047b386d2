"""Deliver every due notification inline: what the `notifications.deliver_due` beat task does."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifications.services import deliveries_run_due


class Command(BaseCommand):
    help = "Attempt every due email/webhook delivery now (retries included); --loop keeps sweeping."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Sweep every --interval seconds until stopped.")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            attempted = deliveries_run_due()
            self.stdout.write(f"{attempted} deliveries attempted")
            if not options["loop"]:
                return
            time.sleep(options["interval"])
