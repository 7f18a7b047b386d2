"""Metric writes: bind points to devices, store them all-or-nothing, mark devices seen."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from devices.models import ApiKey, Device, Organization
from devices.services import device_mark_seen, device_slug
from ingest.errors import IngestForbidden, IngestInvalid, IngestUnavailable
from ingest.timeseries import StoreError, StoreUnavailable, get_store
from ingest.timeseries.base import Point
from ingest.validation import DEVICE_TAG

logger = logging.getLogger(__name__)

# Per-process memos (each gunicorn worker has its own): see _known_devices and _mark_seen.
DEVICE_MEMO_SECONDS = 60.0
_DEVICE_MEMO_MAX = 10_000
_device_memo: dict[tuple[int, str], tuple[int, float]] = {}
_seen_memo: dict[int, float] = {}

_POINT_PREFIX = re.compile(r"point (\d+): ")
_DEVICE_NAME_MAX = Device._meta.get_field("name").max_length or 128


@dataclass(frozen=True)
class IngestResult:
    points: int
    values: int  # field values stored
    devices: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # devices new to this write (created by it or a racer)


def _where(locations: Sequence[str] | None, i: int) -> str:
    return locations[i] if locations else f"point {i}"


def _bind_to_key_device(api_key: ApiKey, points: list[Point], locations: Sequence[str] | None) -> list[Point]:
    """A device-bound key writes only its own device: add the tag, refuse a different one."""
    device = api_key.device
    assert device is not None
    name = device.name
    bound: list[Point] = []
    for i, point in enumerate(points):
        current = point.tags.get(DEVICE_TAG)
        if current is None:
            point = Point(point.measurement, {**point.tags, DEVICE_TAG: name}, point.fields, point.time_ns)
        elif current != name:
            raise IngestForbidden(
                f"{_where(locations, i)}: device {current!r} does not match this key's device {name!r}; "
                "a device-bound key can only write its own device",
                line=_line(locations, i),
            )
        bound.append(point)
    return bound


def _line(locations: Sequence[str] | None, i: int) -> int | None:
    if locations and locations[i].startswith("line "):
        return int(locations[i][5:])
    return None


def _plan_org_devices(
    organization: Organization, points: Sequence[Point], locations: Sequence[str] | None
) -> tuple[dict[str, int], dict[str, int]]:
    """({known name: id}, {unknown name: first point index}); refuses unknown devices per the org setting.

    Unknown devices are created by _register_devices in the write's transaction, so a refused
    write leaves no trace.
    """
    names: dict[str, int] = {}
    for i, point in enumerate(points):
        name = point.tags.get(DEVICE_TAG)
        if not name:
            raise IngestInvalid(
                f"{_where(locations, i)}: missing the {DEVICE_TAG!r} tag; with an organization-wide key every "
                f"point must name its device (tag {DEVICE_TAG}=<name>), or use a device-bound key",
                line=_line(locations, i),
            )
        if name not in names:
            if len(name) > _DEVICE_NAME_MAX:
                raise IngestInvalid(
                    f"{_where(locations, i)}: device name is longer than {_DEVICE_NAME_MAX} characters",
                    line=_line(locations, i),
                )
            names[name] = i
    known = _known_devices(organization.id, list(names))
    missing = {name: i for name, i in names.items() if name not in known}
    if not missing:
        return known, {}
    if not organization.auto_register_devices:
        first, i = next(iter(missing.items()))
        raise IngestForbidden(
            f"{_where(locations, i)}: unknown device {first!r}; organization {organization.slug!r} "
            "does not auto-register devices, so an admin must create it first",
            line=_line(locations, i),
        )
    slugs: dict[str, str] = {}
    for name, i in missing.items():
        slug = device_slug(name)
        other = slugs.setdefault(slug, name)
        if other != name:
            # Two new devices of one write would share a slug: refused before anything is written.
            raise IngestInvalid(
                f"{_where(locations, i)}: new device names {other!r} and {name!r} have the same slug {slug!r}; "
                "use one name",
                line=_line(locations, i),
            )
    return known, missing


def _known_devices(organization_id: int, names: list[str]) -> dict[str, int]:
    """{name: id} of existing devices; answered from a short per-process memo when possible.

    Busy small pushes name the same device every time: the memo saves a query per
    request. A device deleted in the admin can keep receiving points for at most
    DEVICE_MEMO_SECONDS (its points are still tenant-scoped; nothing leaks).
    """
    now = time.monotonic()
    found: dict[str, int] = {}
    unknown: list[str] = []
    for name in names:
        memo = _device_memo.get((organization_id, name))
        if memo is not None and memo[1] > now:
            found[name] = memo[0]
        else:
            unknown.append(name)
    if unknown:
        rows = Device.objects.filter(organization_id=organization_id, name__in=unknown).values_list("name", "id")
        for name, device_id in rows:
            found[name] = device_id
            _remember_device(organization_id, name, device_id, now)
    return found


def _remember_device(organization_id: int, name: str, device_id: int, now: float) -> None:
    if len(_device_memo) >= _DEVICE_MEMO_MAX:
        _device_memo.clear()  # crude but bounded; a refill costs one query per device
    _device_memo[(organization_id, name)] = (device_id, now + DEVICE_MEMO_SECONDS)


def _register_devices(
    organization: Organization, missing: dict[str, int], locations: Sequence[str] | None
) -> dict[str, int]:
    """Create the org's new devices race-free, inside the write's transaction; {name: id}.

    INSERT ... ON CONFLICT DO NOTHING waits for a concurrent, uncommitted insert of the same name
    or slug, then skips the row, so once it returns the winner is visible to the next query: a
    concurrent first write of the same device just uses it (not a 400 "clashes", not a 500). Only
    a winner with another name on our slug (`edge 1` vs `edge-1`) is a real clash: a 400, and the
    caller's transaction rolls back before the store is written. Rows are inserted in slug order,
    so two writers registering overlapping sets lock them in the same order and cannot deadlock.
    """
    slugs = {device_slug(name): name for name in missing}
    new = [Device(organization=organization, name=slugs[slug], slug=slug) for slug in sorted(slugs)]
    Device.objects.bulk_create(new, ignore_conflicts=True)
    rows = Device.objects.filter(Q(name__in=list(missing)) | Q(slug__in=list(slugs)), organization=organization)
    by_name: dict[str, int] = {}
    by_slug: dict[str, str] = {}
    for device_id, name, slug in rows.values_list("id", "name", "slug"):
        by_name[name] = device_id
        by_slug[slug] = name
    ids: dict[str, int] = {}
    for slug in sorted(slugs):
        name = slugs[slug]
        if name in by_name:
            ids[name] = by_name[name]
            continue
        i = missing[name]
        if slug in by_slug:
            raise IngestInvalid(
                f"{_where(locations, i)}: device name {name!r} clashes with the existing device "
                f"{by_slug[slug]!r}, whose slug is {slug!r}; use that device's exact name (nothing was written)",
                line=_line(locations, i),
            )
        # The conflicting row was deleted between our insert and our read: rare, and a retry succeeds.
        raise IngestUnavailable(
            f"{_where(locations, i)}: device {name!r} was deleted while being registered; nothing was written, retry",
            retry_after=settings.INGEST_RETRY_AFTER_SECONDS,
        )
    return ids


def _mark_seen(device_ids: list[int]) -> None:
    """Advance last_seen_at at most once per INGEST_SEEN_RESOLUTION_SECONDS per device.

    A per-process memo skips the query on busy devices; across processes the UPDATE's own
    cutoff (device_mark_seen) keeps it to one row write per device per resolution.
    """
    resolution = settings.INGEST_SEEN_RESOLUTION_SECONDS
    now = time.monotonic()
    due = [d for d in device_ids if _seen_memo.get(d, 0.0) <= now]
    if not due:
        return
    if len(_seen_memo) >= _DEVICE_MEMO_MAX:
        _seen_memo.clear()
    for device_id in due:
        _seen_memo[device_id] = now + resolution
    device_mark_seen(device_ids=due, at=timezone.now(), resolution=timedelta(seconds=resolution))


def _store_rejection(exc: StoreError, locations: Sequence[str] | None) -> IngestInvalid:
    """Say where: the store names "point N", the client knows its lines/items."""
    message = str(exc)
    line = None
    match = _POINT_PREFIX.match(message)
    if match and locations and int(match.group(1)) < len(locations):
        index = int(match.group(1))
        message = f"{locations[index]}: {message[match.end() :]}"
        line = _line(locations, index)
    return IngestInvalid(f"{message[:400]} (nothing was written)", line=line)


def _store_write(organization: Organization, points: list[Point], locations: Sequence[str] | None) -> None:
    try:
        get_store().write(tenant=str(organization.id), points=points)
    except StoreUnavailable as exc:
        logger.warning("time-series store unavailable; write refused", extra={"error": str(exc)[:200]})
        raise IngestUnavailable(
            "the time-series store is unavailable; nothing was written, retry later",
            retry_after=settings.INGEST_RETRY_AFTER_SECONDS,
        ) from None
    except StoreError as exc:
        raise _store_rejection(exc, locations) from None


def metrics_ingest(*, api_key: ApiKey, points: list[Point], locations: Sequence[str] | None = None) -> IngestResult:
    """Store every point for the key's organization, or none (raising an IngestError)."""
    organization = api_key.organization
    missing: dict[str, int] = {}
    if api_key.device_id is not None:
        points = _bind_to_key_device(api_key, points, locations)
        device_ids = [api_key.device_id]
        device_names = [api_key.device.name] if api_key.device else []
    else:
        known, missing = _plan_org_devices(organization, points, locations)
        device_ids = list(known.values())
        device_names = sorted([*known, *missing])
    registered: dict[str, int] = {}
    if missing:
        # One transaction: the new device rows commit only with the stored points (and, on the sql
        # store, in the same commit); a refused write rolls them back.
        with transaction.atomic():
            registered = _register_devices(organization, missing, locations)
            _store_write(organization, points, locations)
        now = time.monotonic()
        for name, device_id in registered.items():
            _remember_device(organization.id, name, device_id, now)
        logger.info("devices registered", extra={"devices": sorted(registered)[:20]})
        device_ids += list(registered.values())
    else:
        _store_write(organization, points, locations)
    _mark_seen(device_ids)
    values = sum(len(p.fields) for p in points)
    logger.debug("metrics ingested", extra={"points": len(points), "values": values, "devices": len(device_ids)})
    return IngestResult(points=len(points), values=values, devices=device_names, registered=list(missing))
