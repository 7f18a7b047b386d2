"""Writes for organizations, devices and API keys."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from devices import key_cache, keys
from devices.key_lookup import api_key_with_relations
from devices.models import ApiKey, Device, Membership, Organization, Scope
from portal.api.errors import Forbidden, InvalidRequest

logger = logging.getLogger(__name__)

# last_used_at is a hint for admins, not an audit log: writing it on every
# request would turn every API call into a row update.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown once to the person who asked, never stored or logged


def organization_create(*, name: str, slug: str | None = None) -> Organization:
    return Organization.objects.create(name=name, slug=slug or slugify(name))


def membership_grant(*, user: AbstractBaseUser, organization: Organization, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(user=user, organization=organization, defaults={"role": role})
    return membership


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


def device_get_or_register(*, organization: Organization, name: str) -> Device:
    """Return the org's device called `name`, creating it; safe under concurrent first writes."""
    try:
        return Device.objects.get(organization=organization, name=name)
    except Device.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return device_create(organization=organization, name=name)
    except IntegrityError:
        return Device.objects.get(organization=organization, name=name)


def device_mark_seen(*, device_ids: list[int], at: datetime, resolution: timedelta) -> int:
    """Advance last_seen_at, skipping devices already seen within `resolution`."""
    cutoff = at - resolution
    stale = Device.objects.filter(id__in=device_ids).exclude(last_seen_at__gte=cutoff)
    return stale.update(last_seen_at=at)


# --- registration policy for writes that name devices (ingest; any app that writes per device) ---

# Per-process memos (each gunicorn worker has its own): see _known_devices and devices_mark_seen.
DEVICE_MEMO_SECONDS = 60.0
_DEVICE_MEMO_MAX = 10_000
_device_memo: dict[tuple[int, str], tuple[int, float]] = {}
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
    Unknown devices are only created after the store accepted the write (devices_register), so a refused
    write leaves no trace; a name whose slug is taken is refused here, before writing.
    """
    for name, i in names.items():
        if len(name) > _DEVICE_NAME_MAX:
            raise InvalidRequest(f"device name is longer than {_DEVICE_NAME_MAX} characters", point=i)
    known = _known_devices(organization.id, list(names))
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
            # Two new devices would share a slug: refused here, before the store write, not by the
            # unique constraint afterwards (which answered 500 with the points already stored).
            raise InvalidRequest(
                f"new device names {other!r} and {name!r} have the same slug {slug!r}; use one name", point=i
            )
    taken = Device.objects.filter(organization=organization, slug__in=list(slugs)).values_list("slug", flat=True)
    for slug in taken:
        name = slugs[slug]
        raise InvalidRequest(
            f"device name {name!r} clashes with an existing device whose slug is {slug!r}; "
            "use that device's exact name",
            point=missing[name],
        )
    return DevicePlan(known=known, missing=missing)


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


def devices_register(*, organization: Organization, names: list[str]) -> list[int]:
    """Create (or find, under concurrent first writes) the org's devices `names`; their ids."""
    ids = []
    now = time.monotonic()
    for name in names:
        device_id = device_get_or_register(organization=organization, name=name).id
        _remember_device(organization.id, name, device_id, now)
        ids.append(device_id)
        logger.info("device auto-registered", extra={"device": name})
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


def _validate_scopes(scopes: list[str]) -> list[str]:
    valid = set(Scope.values)
    unknown = sorted(set(scopes) - valid)
    if unknown:
        raise ValueError(f"Unknown scope(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}.")
    if not scopes:
        raise ValueError("A key needs at least one scope.")
    return sorted(set(scopes))


# django-ratelimit's rate syntax: "<count>/<period>", period s/m/h/d with an optional multiplier ("100/5m").
_RATE_RE = re.compile(r"^[1-9][0-9]*/[0-9]*[smhd]$")


def validate_rate_limit(rate_limit: str) -> str:
    """Return the rate unchanged if django-ratelimit can parse it ("" = the site default); else ValueError."""
    rate_limit = rate_limit.strip()
    if rate_limit and not _RATE_RE.match(rate_limit):
        raise ValueError(
            f"Invalid rate limit {rate_limit!r}: use <count>/<period> with period s, m, h or d, "
            "e.g. '600/m' or '100/5m'."
        )
    return rate_limit


def api_key_issue(
    *,
    organization: Organization,
    name: str,
    scopes: list[str],
    device: Device | None = None,
    expires_at: datetime | None = None,
    rate_limit: str = "",
    rotated_from: ApiKey | None = None,
) -> IssuedKey:
    if device is not None and device.organization_id != organization.id:
        raise ValueError("The device belongs to another organization.")
    # Validate everything before generating a secret, so bad input changes nothing.
    scopes = _validate_scopes(scopes)
    rate_limit = validate_rate_limit(rate_limit)
    plaintext, key_id, secret = keys.generate()
    api_key = ApiKey.objects.create(
        organization=organization,
        device=device,
        name=name,
        key_id=key_id,
        digest=keys.digest(secret),
        scopes=scopes,
        expires_at=expires_at,
        rate_limit=rate_limit,
        rotated_from=rotated_from,
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, grace: timedelta | None = None) -> IssuedKey:
    """Issue a replacement with the same grants; the old key stops working after `grace`."""
    if grace is None:
        grace = timedelta(hours=settings.API_KEY_ROTATION_GRACE_HOURS)
    old = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if not old.is_active():
        raise ValueError("Only an active key can be rotated.")
    if hasattr(old, "rotated_to"):
        raise ValueError("This key has already been rotated.")
    issued = api_key_issue(
        organization=old.organization,
        name=old.name,
        scopes=old.scopes,
        device=old.device,
        expires_at=old.expires_at,
        rate_limit=old.rate_limit,
        rotated_from=old,
    )
    deadline = timezone.now() + grace
    if old.expires_at is None or old.expires_at > deadline:
        old.expires_at = deadline
        old.save(update_fields=["expires_at"])
    return issued


def api_key_authenticate(plaintext: str) -> ApiKey | None:
    """Return the active key for `plaintext`, or None. Unknown id and wrong secret look the same."""
    parsed = keys.parse(plaintext)
    if parsed is None:
        return None
    presented = keys.digest(parsed.secret)
    api_key = key_cache.recall(parsed.key_id, presented)
    if api_key is not None:
        # Remembered success (at most API_KEY_CACHE_SECONDS old); expiry is still checked on every call.
        return _still_active(api_key)
    api_key = api_key_with_relations(parsed.key_id)
    # The digest was computed before the lookup, so an unknown id and a wrong secret cost the same time.
    stored = api_key.digest if api_key is not None else "0" * 64
    if not hmac.compare_digest(presented, stored) or api_key is None:
        return None
    api_key = _still_active(api_key)
    if api_key is not None:
        key_cache.remember(parsed.key_id, presented, api_key)
    return api_key


def _still_active(api_key: ApiKey) -> ApiKey | None:
    now = timezone.now()
    if not api_key.is_active(now):
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).exclude(last_used_at__gt=now - LAST_USED_RESOLUTION).update(
            last_used_at=now
        )
        api_key.last_used_at = now
    return api_key
