"""Tasks of the portal itself (found by autodiscovery, portal being an installed app)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="portal.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Scheduled every BEAT_HEARTBEAT_SECONDS so beat ticks regularly.

    Sending it makes django-celery-beat stamp the row's last_run_at, which /health/ready reports as the
    age of the last beat tick (portal.health.check_beat). Running it needs no work.
    """
