from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Beacon portal"

    def ready(self) -> None:
        # `migrate` (every deploy and `make demo` run it) brings the beat schedules in line with the code.
        # post_migrate is sent once per app with models (portal has none): hook django-celery-beat's.
        post_migrate.connect(_sync_periodic_tasks, dispatch_uid="portal.sync_periodic_tasks")
        from portal.middleware import browser_middleware_check

        checks.register(browser_middleware_check, checks.Tags.security)


def _sync_periodic_tasks(sender: AppConfig, using: str = "default", verbosity: int = 1, **kwargs: Any) -> None:
    from django.db import connections

    from portal.periodic_tasks import periodic_tasks_sync

    if sender.name != "django_celery_beat":
        return
    # `migrate <app> <target>` may leave django-celery-beat unmigrated: nothing to write into yet.
    if "django_celery_beat_periodictask" not in connections[using].introspection.table_names():
        return
    result = periodic_tasks_sync(using=using)
    if verbosity >= 1 and result.changed:
        print(f"  Periodic tasks: {result.summary()}")
