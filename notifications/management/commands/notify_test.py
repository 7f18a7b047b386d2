"""Send a test notification to check an organization's email addresses and webhook URLs end to end."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from notifications.models import Delivery
from notifications.services import deliveries_run_due, notification_send_test


class Command(BaseCommand):
    help = "Send a test notification (type beacon.test) and deliver it at once, printing each result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organization slug.")
        parser.add_argument("--email", action="append", default=[], help="Repeatable.")
        parser.add_argument("--webhook", action="append", default=[], help="Webhook URL; repeatable.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organization = Organization.objects.get(slug=options["org"])
        except Organization.DoesNotExist:
            raise CommandError(f"no organization with slug {options['org']!r} (see `manage.py createorg`)") from None
        if not options["email"] and not options["webhook"]:
            raise CommandError("name at least one --email or --webhook")
        try:
            notification = notification_send_test(
                organization=organization, emails=options["email"], webhook_urls=options["webhook"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        deliveries_run_due()
        for delivery in Delivery.objects.filter(notification=notification).select_related("endpoint"):
            detail = f" ({delivery.last_error})" if delivery.last_error else ""
            self.stdout.write(f"{delivery.channel} {delivery.target}: {delivery.status}{detail}")
