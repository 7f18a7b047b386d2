"""Celery tasks: thin wrappers over quotas.scraping and quotas.evaluation (schedule: settings.PERIODIC_TASKS)."""

from __future__ import annotations

import logging

from celery import shared_task

from quotas import scraping
from timeseries import StoreUnavailable

logger = logging.getLogger(__name__)


@shared_task(name="quotas.scrape_due", ignore_result=True)
def scrape_due() -> int:
    """Every 10 s: enqueue each enabled target whose interval has elapsed (claimed once, even with two beats)."""
    claimed = scraping.targets_claim_due()
    for target_id in claimed:
        scrape_target.delay(target_id)
    return len(claimed)


@shared_task(
    name="quotas.scrape_target",
    ignore_result=True,
    autoretry_for=(StoreUnavailable,),
    retry_backoff=5,
    max_retries=3,
    soft_time_limit=120,
    time_limit=150,
)
def scrape_target(target_id: int) -> int:
    """Scrape one target; the quotas whose usage moved are evaluated in the same transaction."""
    return scraping.scrape_target(target_id).bytes_counted
