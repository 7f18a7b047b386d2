"""`manage.py createorg NAME [--slug SLUG] [--admin-user USERNAME]`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from accounts import services
from accounts.models import Membership, Organization


class Command(BaseCommand):
    help = "Create an organization (or report the existing one) and optionally make a user its admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Display name, e.g. 'Acme Edge'.")
        parser.add_argument("--slug", help="URL/API identifier; default: derived from the name.")
        parser.add_argument("--admin-user", help="Existing username to grant the org's admin role.")

    def handle(self, *args: Any, name: str, slug: str | None, admin_user: str | None, **options: Any) -> None:
        name = name.strip()
        slug = (slug or slugify(name)).strip()
        if not name or not slug:
            raise CommandError("NAME must contain at least one letter or digit (it is used to derive the slug).")
        user = None
        if admin_user:
            try:
                user = get_user_model().objects.get(username=admin_user)
            except get_user_model().DoesNotExist:
                raise CommandError(
                    f"No user {admin_user!r}. Create it first: python manage.py createsuperuser --username {admin_user}"
                ) from None

        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            if Organization.objects.filter(name=name).exists():
                raise CommandError(f"An organization named {name!r} already exists with another slug.")
            org = services.organization_create(name=name, slug=slug)
            self.stdout.write(f"Created organization {org.name!r} (slug {org.slug}).")
        elif org.name != name:
            raise CommandError(f"Slug {slug!r} is already used by organization {org.name!r}; pick another --slug.")
        else:
            self.stdout.write(f"Organization {org.name!r} (slug {org.slug}) already exists; left unchanged.")

        if user is not None:
            services.membership_grant(user=user, organization=org, role=Membership.Role.ADMIN)
            self.stdout.write(f"User {user.get_username()!r} is an admin of {org.slug}.")
