"""Deleting one device's stored data: asked for from Settings → Devices, run by the `ingest.delete_device_data`
task, which reports progress into the DataDeletion row the page shows.

The store work is timeseries.deletion (both backends), run by ingest.deletion_run; the device's `device`
tag is ingest's convention, which is why this lives here and not in devices/ (a lower layer than the store).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.audit import SYSTEM, Actor
from devices.models import Device
from ingest.models import DataDeletion

logger = logging.getLogger(__name__)


@transaction.atomic
def device_data_delete_request(*, device: Device, actor: Actor = SYSTEM) -> DataDeletion:
    """Queue the deletion of every stored point of `device` (its `device` tag in its org's tenant)."""
    running = DataDeletion.objects.filter(
        device=device, status__in=[DataDeletion.Status.PENDING, DataDeletion.Status.RUNNING]
    ).first()
    if running is not None:
        return running  # one at a time per device: a second click shows the same progress
    deletion = DataDeletion.objects.create(
        organization=device.organization,
        device=device,
        device_name=device.name,
        requested_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        backend=settings.TIMESERIES_BACKEND,
    )
    actor.record(
        organization=device.organization,
        action="device.delete_data",
        target=f"device '{device.name}'",
        after={"device": device.name, "deletion": deletion.pk, "backend": deletion.backend},
    )
    transaction.on_commit(lambda: _enqueue(deletion.pk))
    return deletion


def _enqueue(deletion_id: int) -> None:
    from ingest import tasks

    try:
        tasks.delete_device_data.delay(deletion_id)
    except Exception as exc:  # the broker is down: say so on the page instead of "queued" forever
        logger.warning("could not queue data deletion %s", deletion_id, exc_info=True)
        DataDeletion.objects.filter(pk=deletion_id, status=DataDeletion.Status.PENDING).update(
            status=DataDeletion.Status.FAILED,
            error=f"could not be queued ({type(exc).__name__}); nothing was deleted, try again",
            finished_at=timezone.now(),
        )
