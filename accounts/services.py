"""Writes for organizations, memberships and API keys."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts import key_cache, keys
from accounts.key_lookup import key_row
from accounts.models import ApiKey, Membership, Organization
from accounts.scopes import registered_scopes

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


def _validate_scopes(scopes: list[str]) -> list[str]:
    valid = set(registered_scopes())
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
    device: Any = None,  # a devices.Device of `organization`, or None for an org-wide key
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
    # An unknown id and a wrong secret do the same work: one HMAC (above), one query returning one row, one
    # comparison (against a dummy digest for an unknown id), no model instances; only a match builds the key.
    row = key_row(parsed.key_id)
    stored = row.digest
    if not hmac.compare_digest(presented, stored if stored is not None else keys.DUMMY_DIGEST) or stored is None:
        return None
    api_key = _still_active(row.api_key())
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
