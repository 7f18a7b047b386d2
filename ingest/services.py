"""Metric writes: bind points to devices, store them all-or-nothing, mark devices seen.

Which devices may be written and created is the devices app's policy (devices.services); this module
collects the device names of a batch, writes the store, and says where a refusal happened (the batch
turns a point index into "line 3" or "item 2").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from accounts.audit import Actor
from accounts.models import ApiKey
from devices import services as devices
from ingest.batch import Batch
from ingest.validation import DEVICE_TAG
from portal.api import opsmetrics
from portal.api.errors import ApiError, Forbidden, InvalidRequest, Unavailable
from portal.logging import store_outage
from timeseries import StoreError, StoreUnavailable, get_store
from timeseries.base import Point

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    points: int
    values: int  # field values stored
    devices: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # devices new to this write (created by it or a racer)


def _bind_to_key_device(api_key: ApiKey, points: list[Point]) -> list[Point]:
    """A device-bound key writes only its own device: add the tag, refuse a different one."""
    device = api_key.device
    assert device is not None
    name = device.name
    if device.decommissioned_at is not None:
        raise devices.decommissioned_refusal(name)
    bound: list[Point] = []
    for i, point in enumerate(points):
        current = point.tags.get(DEVICE_TAG)
        if current is None:
            point = Point(point.measurement, {**point.tags, DEVICE_TAG: name}, point.fields, point.time_ns)
        elif current != name:
            raise Forbidden(
                f"device {current!r} does not match this key's device {name!r}; "
                "a device-bound key can only write its own device",
                point=i,
            )
        bound.append(point)
    return bound


def _device_names(points: list[Point]) -> dict[str, int]:
    """{device name: index of the first point naming it}; every point of an org-wide key names one."""
    names: dict[str, int] = {}
    for i, point in enumerate(points):
        name = point.tags.get(DEVICE_TAG)
        if not name:
            raise InvalidRequest(
                f"missing the {DEVICE_TAG!r} tag; with an organization-wide key every point must name its "
                f"device (tag {DEVICE_TAG}=<name>), or use a device-bound key",
                point=i,
            )
        names.setdefault(name, i)
    return names


def _store_write(organization_id: int, points: list[Point]) -> None:
    try:
        get_store().write(tenant=str(organization_id), points=points)
    except StoreUnavailable as exc:
        opsmetrics.STORE_ERRORS.labels("unavailable").inc()
        store_outage.down(exc)  # logged once per outage, not per refused write
        raise Unavailable(
            "the time-series store is unavailable; nothing was written, retry later",
            retry_after=settings.INGEST_RETRY_AFTER_SECONDS,
        ) from None
    except StoreError as exc:
        opsmetrics.STORE_ERRORS.labels("refused").inc()
        raise InvalidRequest(f"{exc.reason[:400]} (nothing was written)", point=exc.point) from None
    store_outage.up()


def metrics_ingest(*, api_key: ApiKey, batch: Batch) -> IngestResult:
    """Store every point of `batch` for the key's organization, or none (raising an ApiError that says where)."""
    try:
        return _ingest(api_key, batch.points)
    except ApiError as exc:
        raise batch.locate(exc) from None


def _ingest(api_key: ApiKey, points: list[Point]) -> IngestResult:
    organization = api_key.organization
    plan = devices.DevicePlan()
    if api_key.device_id is not None:
        points = _bind_to_key_device(api_key, points)
        device_ids = [api_key.device_id]
        device_names = [api_key.device.name] if api_key.device else []
    else:
        plan = devices.device_plan_for_write(organization=organization, names=_device_names(points))
        device_ids = list(plan.known.values())
        device_names = sorted([*plan.known, *plan.missing])
    if plan.missing:
        # One transaction: the new device rows commit only with the stored points (and, on the sql
        # store, in the same commit); a refused write rolls them back.
        with transaction.atomic():
            registered = devices.devices_register(organization=organization, missing=plan.missing)
            # Devices created by a key's write are a configuration change: audited with the key as actor.
            Actor(key=api_key).record(
                organization=organization,
                action="device.register",
                target=", ".join(f"device '{n}'" for n in sorted(plan.missing)[:5])
                + (" …" if len(plan.missing) > 5 else ""),
                after={"devices": sorted(plan.missing)[:100]},
            )
            _store_write(organization.id, points)
        device_ids += list(registered.values())
    else:
        _store_write(organization.id, points)
    devices.devices_mark_seen(device_ids=device_ids)
    values = sum(len(p.fields) for p in points)
    logger.debug("metrics ingested", extra={"points": len(points), "values": values, "devices": len(device_ids)})
    return IngestResult(points=len(points), values=values, devices=device_names, registered=list(plan.missing))
