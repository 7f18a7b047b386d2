"""Registry tasks (schedules in settings.PERIODIC_TASKS)."""

from __future__ import annotations

from celery import shared_task

from registry.services import registry_prune


@shared_task(name="registry.prune")
def prune() -> dict[str, int]:
    """Delete gauges and pushed groups past their TTL."""
    return registry_prune()
