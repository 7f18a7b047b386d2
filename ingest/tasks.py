"""Celery tasks of ingest: thin, take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from ingest.deletion_run import RUN_TIME_LIMIT, device_data_delete_run
from timeseries import StoreUnavailable


# The store work commits batch by batch, so the whole task may take long: its own, larger time limits.
@shared_task(
    name="ingest.delete_device_data",
    autoretry_for=(StoreUnavailable,),
    retry_backoff=30,
    max_retries=10,
    soft_time_limit=RUN_TIME_LIMIT - 100,
    time_limit=RUN_TIME_LIMIT,
    ignore_result=True,
)
def delete_device_data(deletion_id: int) -> int | None:
    deletion = device_data_delete_run(deletion_id=deletion_id)
    return None if deletion is None else deletion.deleted
