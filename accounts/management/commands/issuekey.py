"""`manage.py issuekey --org SLUG --name NAME --scopes metrics:write,...` prints a new API key once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts import services
from accounts.models import ApiKey, Organization
from accounts.scopes import registered_scopes


class Command(BaseCommand):
    help = (
        "Issue an API key. The key is printed once on stdout (so it can be captured: KEY=$(manage.py issuekey ...)); "
        "what was issued is described on stderr. Beacon stores only a digest: a lost key cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organization slug.")
        parser.add_argument("--name", required=True, help="What uses the key, e.g. 'telegraf on edge-01'.")
        parser.add_argument(
            "--scopes", required=True, help=f"Comma-separated scopes; any of: {', '.join(registered_scopes())}."
        )
        parser.add_argument("--device", help="Bind the key to this device (by name) of the organization.")
        parser.add_argument("--expires-days", type=int, help="Expire the key after N days (default: never).")
        parser.add_argument("--rate-limit", default="", help="Per-key rate, e.g. 600/m (default: the site default).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            org = Organization.objects.get(slug=options["org"])
        except Organization.DoesNotExist:
            known = ", ".join(Organization.objects.values_list("slug", flat=True)[:20]) or "none yet"
            raise CommandError(
                f"Unknown organization {options['org']!r} (known: {known}). Create it: python manage.py createorg NAME"
            ) from None

        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        valid = registered_scopes()
        unknown = sorted(set(scopes) - set(valid))
        if unknown or not scopes:
            raise CommandError(f"Unknown scope(s) {', '.join(unknown) or '(none given)'}; valid: {', '.join(valid)}.")

        device: Any = None
        if options["device"]:
            Device = ApiKey.device_model()
            try:
                device = Device._default_manager.get(organization=org, name=options["device"])
            except Device.DoesNotExist:  # type: ignore[attr-defined]
                raise CommandError(
                    f"Organization {org.slug!r} has no device named {options['device']!r}; "
                    "add it in the admin (Devices → Add) or drop --device for an organization-wide key."
                ) from None

        expires_at = None
        if options["expires_days"] is not None:
            if options["expires_days"] < 1:
                raise CommandError("--expires-days must be at least 1.")
            expires_at = timezone.now() + timedelta(days=options["expires_days"])

        try:
            issued = services.api_key_issue(
                organization=org,
                name=options["name"],
                scopes=scopes,
                device=device,
                expires_at=expires_at,
                rate_limit=options["rate_limit"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        key = issued.api_key
        self.stderr.write(
            f"Issued key {key.prefix}… {key.name!r} for {org.slug}: scopes {', '.join(key.scopes)}; "
            f"device {device.name if device else '(any)'}; expires {key.expires_at or 'never'}; "
            f"rate {key.rate_limit or 'site default'}. It is shown only now."
        )
        self.stdout.write(issued.plaintext)
