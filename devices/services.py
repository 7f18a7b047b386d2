"""Writes for devices: creation, the registration policy of writes that name devices, last seen."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import SYSTEM, Actor
from accounts.models import Organization
from devices.models import Device
from portal.api.errors import Forbidden, InvalidRequest, Unavailable

logger = logging.getLogger(__name__)


def device_slug(name: str) -> str:
    """The device's URL slug: slugify(name), or a stable hash-based slug when nothing ASCII is left.

    Names like "😀" or "../.." slugify to "" or keep characters a SlugField refuses; storing the raw name
    as the slug broke the documented slug pattern (found by schemathesis).
    """
    return slugify(name) or f"device-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def device_create(
    *, organization: Organization, name: str, tags: dict[str, str] | None = None, description: str = ""
) -> Device:
    return Device.objects.create(
        organization=organization, name=name, slug=device_slug(name), tags=tags or {}, description=description
    )


def device_label(device: Device) -> str:
    return f"device '{device.name}'"


@transaction.atomic
def device_rename(*, device: Device, name: str, actor: Actor = SYSTEM) -> Device:
    """A new name (the `device` tag of its writes from now on); the slug, so its URLs, stays.

    Points already stored keep the old name as their tag: the device's pages show what is written under the
    new name (docs/portal.md, "Devices").
    """
    name = name.strip()
    if not name:
        raise ValueError("A device needs a name.")
    if len(name) > _DEVICE_NAME_MAX:
        raise ValueError(f"A device name is at most {_DEVICE_NAME_MAX} characters.")
    current = Device.objects.select_for_update().select_related("organization").get(pk=device.pk)
    if current.name == name:
        return current
    if Device.objects.filter(organization_id=current.organization_id, name=name).exists():
        raise ValueError(f"Another device of this organization is already called {name!r}.")
    old = current.name
    current.name = name
    current.save(update_fields=["name"])
    actor.record(
        organization=current.organization,
        action="device.rename",
        target=f"device '{name}'",
        before={"name": old},
        after={"name": name},
    )
    transaction.on_commit(clear_memos)  # this worker forgets the old name at once; others within a minute
    return current


@transaction.atomic
def device_decommission(*, device: Device, actor: Actor = SYSTEM) -> Device:
    """Refuse the device's writes from now on (403 naming it); its stored history stays readable."""
    current = Device.objects.select_for_update().select_related("organization").get(pk=device.pk)
    if current.decommissioned_at is not None:
        return current
    current.decommissioned_at = timezone.now()
    current.save(update_fields=["decommissioned_at"])  # post_save: the key memo forgets keys bound to it
    actor.record(
        organization=current.organization,
        action="device.decommission",
        target=device_label(current),
        before={"decommissioned_at": None},
        after={"decommissioned_at": current.decommissioned_at.isoformat()},
    )
    transaction.on_commit(clear_memos)
    return current


@transaction.atomic
def device_recommission(*, device: Device, actor: Actor = SYSTEM) -> Device:
    """Accept the device's writes again."""
    current = Device.objects.select_for_update().select_related("organization").get(pk=device.pk)
    before = current.decommissioned_at
    if before is None:
        return current
    current.decommissioned_at = None
    current.save(update_fields=["decommissioned_at"])
    actor.record(
        organization=current.organization,
        action="device.recommission",
        target=device_label(current),
        before={"decommissioned_at": before.isoformat()},
        after={"decommissioned_at": None},
    )
    transaction.on_commit(clear_memos)
    return current


def decommissioned_refusal(name: str, *, point: int | None = None) -> Forbidden:
    return Forbidden(
        f"device {name!r} is decommissioned: its writes are refused (its history stays readable); "
        "an org admin can return it to service under Settings → Devices",
        point=point,
    )


def device_mark_seen(*, device_ids: list[int], at: datetime, resolution: timedelta) -> int:
    """Advance last_seen_at, skipping devices already seen within `resolution`.

    What `Device.objects.filter(id__in=ids).exclude(last_seen_at__gte=cutoff).update(...)` does, as fixed SQL:
    building that query cost more CPU than its round trip on busy small pushes (docs/benchmarks.md).
    """
    if not device_ids:
        return 0
    ops = connection.ops
    table, column = ops.quote_name(Device._meta.db_table), ops.quote_name("last_seen_at")
    marks = ", ".join(["%s"] * len(device_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s WHERE id IN ({marks}) "  # noqa: S608 - identifiers from metadata
            f"AND ({column} IS NULL OR {column} < %s)",
            [ops.adapt_datetimefield_value(at), *device_ids, ops.adapt_datetimefield_value(at - resolution)],
        )
        return int(cursor.rowcount)


# --- registration policy for writes that name devices (ingest; any app that writes per device) ---

# Per-process memos (each gunicorn worker has its own): see _known_devices and devices_mark_seen.
DEVICE_MEMO_SECONDS = 60.0
_DEVICE_MEMO_MAX = 10_000
_device_memo: dict[tuple[int, str], tuple[int, float, bool]] = {}  # (org, name) -> (id, expiry, decommissioned)
_seen_memo: dict[int, float] = {}
_DEVICE_NAME_MAX = Device._meta.get_field("name").max_length or 128


@dataclass(frozen=True)
class DevicePlan:
    known: dict[str, int] = field(default_factory=dict)  # name -> id
    missing: dict[str, int] = field(default_factory=dict)  # name -> index of the first point naming it


def clear_memos() -> None:
    _device_memo.clear()
    _seen_memo.clear()


def device_plan_for_write(*, organization: Organization, names: dict[str, int]) -> DevicePlan:
    """Which of `names` ({device name: first point index}) exist, and which a write may create.

    Refusals are ApiErrors naming the point (`point=`), so the caller can say which line or item.
    Unknown devices are created by devices_register inside the write's transaction, so a refused write
    leaves no trace.
    """
    for name, i in names.items():
        if len(name) > _DEVICE_NAME_MAX:
            raise InvalidRequest(f"device name is longer than {_DEVICE_NAME_MAX} characters", point=i)
    known, decommissioned = _known_devices(organization.id, list(names))
    if decommissioned:
        first = min(decommissioned, key=names.__getitem__)
        raise decommissioned_refusal(first, point=names[first])
    missing = {name: i for name, i in names.items() if name not in known}
    if not missing:
        return DevicePlan(known=known)
    if not organization.auto_register_devices:
        first, i = next(iter(missing.items()))
        raise Forbidden(
            f"unknown device {first!r}; organization {organization.slug!r} "
            "does not auto-register devices, so an admin must create it first",
            point=i,
        )
    slugs: dict[str, str] = {}
    for name, i in missing.items():
        slug = device_slug(name)
        other = slugs.setdefault(slug, name)
        if other != name:
            # Two new devices of one write would share a slug: refused before anything is written.
            raise InvalidRequest(
                f"new device names {other!r} and {name!r} have the same slug {slug!r}; use one name", point=i
            )
    return DevicePlan(known=known, missing=missing)


def _known_devices(organization_id: int, names: list[str]) -> tuple[dict[str, int], list[str]]:
    """({name: id} of existing devices, names of the decommissioned ones); from a short per-process memo
    when possible.

    Busy small pushes name the same device every time: the memo saves a query per
    request. A device deleted in the admin can keep receiving points for at most
    DEVICE_MEMO_SECONDS (its points are still tenant-scoped; nothing leaks); so can one decommissioned in
    another worker (the worker that decommissions forgets at once).
    """
    now = time.monotonic()
    found: dict[str, int] = {}
    decommissioned: list[str] = []
    unknown: list[str] = []
    for name in names:
        memo = _device_memo.get((organization_id, name))
        if memo is not None and memo[1] > now:
            found[name] = memo[0]
            if memo[2]:
                decommissioned.append(name)
        else:
            unknown.append(name)
    if unknown:
        rows = Device.objects.filter(organization_id=organization_id, name__in=unknown).values_list(
            "name", "id", "decommissioned_at"
        )
        for name, device_id, decommissioned_at in rows:
            found[name] = device_id
            if decommissioned_at is not None:
                decommissioned.append(name)
            _remember_device(organization_id, name, device_id, now, decommissioned_at is not None)
    return found, decommissioned


def _remember_device(organization_id: int, name: str, device_id: int, now: float, decommissioned: bool = False) -> None:
    if len(_device_memo) >= _DEVICE_MEMO_MAX:
        _device_memo.clear()  # crude but bounded; a refill costs one query per device
    _device_memo[(organization_id, name)] = (device_id, now + DEVICE_MEMO_SECONDS, decommissioned)


def devices_register(*, organization: Organization, missing: dict[str, int]) -> dict[str, int]:
    """Create the org's new devices `missing` ({name: first point index}) race-free; {name: id}.

    Run it inside the write's transaction (the rows commit with the stored points, a refused write rolls
    them back); the memo is filled only once that transaction commits.
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
            raise InvalidRequest(
                f"device name {name!r} clashes with the existing device {by_slug[slug]!r}, whose slug is "
                f"{slug!r}; use that device's exact name (nothing was written)",
                point=i,
            )
        # The conflicting row was deleted between our insert and our read: rare, and a retry succeeds.
        raise Unavailable(
            f"device {name!r} was deleted while being registered; nothing was written, retry",
            point=i,
            retry_after=settings.INGEST_RETRY_AFTER_SECONDS,
        )

    def remember() -> None:
        now = time.monotonic()
        for name, device_id in ids.items():
            _remember_device(organization.id, name, device_id, now)

    transaction.on_commit(remember)
    logger.info("devices registered", extra={"devices": sorted(ids)[:20]})
    return ids


def devices_mark_seen(*, device_ids: list[int]) -> None:
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
