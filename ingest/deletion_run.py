"""Running a queued DataDeletion (the `ingest.delete_device_data` task's one service): claim, delete from the
store with progress in the row, finish. Requests are made by ingest.deletion."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from ingest.models import DataDeletion
from ingest.validation import DEVICE_TAG
from timeseries import StoreUnavailable
from timeseries.deletion import series_delete

logger = logging.getLogger(__name__)
RUN_TIME_LIMIT = 3500  # seconds: the task's hard time limit, below the Redis visibility timeout (3600 s)


def device_data_delete_run(*, deletion_id: int) -> DataDeletion | None:
    """Run a queued deletion (claimed by a conditional UPDATE, so two deliveries run it once); None if
    another worker has it or it is finished. A store outage puts it back in the queue state and re-raises
    (the task retries); deleting is idempotent, so a retried or resumed run just finishes the job."""
    now = timezone.now()
    # A run whose worker died (acks_late redelivers it) is taken over once it is older than the time limit.
    abandoned = Q(status=DataDeletion.Status.RUNNING, started_at__lt=now - timedelta(seconds=RUN_TIME_LIMIT))
    claimed = (
        DataDeletion.objects.filter(pk=deletion_id)
        .filter(Q(status=DataDeletion.Status.PENDING) | abandoned)
        .update(status=DataDeletion.Status.RUNNING, started_at=now, error="")
    )
    if not claimed:
        return None
    deletion = DataDeletion.objects.select_related("organization").get(pk=deletion_id)

    def progress(done: int, total: int) -> None:
        DataDeletion.objects.filter(pk=deletion_id).update(done=done, total=total)

    try:
        deleted = series_delete(
            tenant=str(deletion.organization_id), tags={DEVICE_TAG: deletion.device_name}, on_progress=progress
        )
    except StoreUnavailable as exc:
        DataDeletion.objects.filter(pk=deletion_id).update(status=DataDeletion.Status.PENDING, error=str(exc)[:500])
        raise
    except Exception as exc:
        DataDeletion.objects.filter(pk=deletion_id).update(
            status=DataDeletion.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:500], finished_at=timezone.now()
        )
        raise
    DataDeletion.objects.filter(pk=deletion_id).update(
        status=DataDeletion.Status.DONE, deleted=deleted, finished_at=timezone.now()
    )
    deletion.refresh_from_db()
    logger.info("device data deleted", extra={"deletion": deletion_id, "deleted": deleted})
    return deletion
