"""Write every beat schedule in settings.PERIODIC_TASKS as a django-celery-beat row (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from portal.periodic_tasks import periodic_tasks_sync


class Command(BaseCommand):
    help = (
        "Create or update the beat schedule rows defined in settings.PERIODIC_TASKS and remove the ones "
        "this command created that the settings no longer name. Also runs after every `migrate`."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = periodic_tasks_sync()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Periodic tasks: {result.summary()}"))
