"""`manage.py healthcheck [NAME ...] [--strict]`: the /health/ready checks from a shell, for container probes.

Docker and systemd probe processes that serve no HTTP (the beat, the worker's broker): this runs the same
HEALTH_CHECKS, prints one line per check and exits 1 when one fails (with --strict also when degraded,
which is how the beat container reports a beat that stopped ticking).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.health import run_checks


class Command(BaseCommand):
    help = "Run the readiness checks (all, or the names given); exit 1 if any fails (--strict: or is degraded)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", help=f"checks to run; any of: {', '.join(settings.HEALTH_CHECKS)}")
        parser.add_argument("--strict", action="store_true", help="a degraded check fails too")

    def handle(self, *args: Any, names: list[str], strict: bool, **options: Any) -> None:
        unknown = sorted(set(names) - set(settings.HEALTH_CHECKS))
        if unknown:
            raise CommandError(
                f"Unknown check(s) {', '.join(unknown)}; configured: {', '.join(settings.HEALTH_CHECKS)}."
            )
        results = run_checks(names or None)
        bad = {"error", "degraded"} if strict else {"error"}
        for name, result in results.items():
            detail = f": {result['error']}" if result.get("error") else ""
            self.stdout.write(f"{name}: {result['status']}{detail}")
        failing = [name for name, result in results.items() if result["status"] in bad]
        if failing:
            raise CommandError(f"Not healthy: {', '.join(failing)}.", returncode=1)
