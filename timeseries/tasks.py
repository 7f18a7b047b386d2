"""Celery tasks of the time-series store (scheduled by settings.PERIODIC_TASKS)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from timeseries.base import StoreUnavailable
from timeseries.retention import timeseries_prune

logger = logging.getLogger(__name__)


# Named by what it does, not where it lives: beat rows keep working when the module moves.
# Batches commit one by one, so a run cut short by the time limit or retried resumes where it stopped.
@shared_task(
    name="timeseries.prune_timeseries",
    autoretry_for=(StoreUnavailable,),
    retry_backoff=60,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=1900,
)
def prune_timeseries() -> int:
    """Delete points older than TIMESERIES_RETENTION_DAYS (sql backend; InfluxDB prunes itself)."""
    if settings.TIMESERIES_BACKEND != "sql":
        return 0
    deleted = timeseries_prune()
    logger.info("pruned time-series points", extra={"deleted": deleted})
    return deleted
