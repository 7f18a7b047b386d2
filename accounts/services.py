"""Writes for organizations, memberships and API keys."""

from __future__ import annotations

import hmac
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts import key_cache, keys
from accounts.audit import SYSTEM, Actor, changed, snapshot
from accounts.invitations import invitation_link, invitation_message, invitation_tokens
from accounts.key_lookup import key_row
from accounts.models import ApiKey, Invitation, Membership, Organization
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


def membership_grant(
    *, user: AbstractBaseUser, organization: Organization, role: str, actor: Actor | None = None
) -> Membership:
    """Add `user` to `organization` (or set their role); audited when an `actor` is given."""
    with transaction.atomic():
        previous = (
            Membership.objects.filter(user_id=user.pk, organization=organization).values_list("role", flat=True).first()
        )
        membership, _ = Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        if actor is not None and previous != role:
            actor.record(
                organization=organization,
                action="membership.add" if previous is None else "membership.change_role",
                target=member_label(membership),
                before=None if previous is None else {"role": previous},
                after={"user": user.get_username(), "role": role},
            )
    return membership


def member_label(membership: Membership) -> str:
    return f"member '{membership.user.get_username()}'"


class LastAdminError(ValueError):
    pass


def _ensure_another_admin(membership: Membership) -> None:
    """Refuse to take away the organization's last admin. Locks the org's admin rows, so two admins
    demoting each other at the same time cannot both succeed."""
    admins = list(
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Membership.Role.ADMIN)
        .values_list("id", flat=True)
    )
    if admins == [membership.pk]:
        raise LastAdminError(
            f"{membership.user.get_username()} is the last admin of {membership.organization.name}; "
            "make another member admin first"
        )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Actor = SYSTEM) -> Membership:
    if role not in Membership.Role.values:
        raise ValueError(f"Unknown role {role!r}; valid: {', '.join(Membership.Role.values)}.")
    current = Membership.objects.select_for_update().get(pk=membership.pk)
    if current.role == role:
        return current
    if current.role == Membership.Role.ADMIN:
        _ensure_another_admin(current)
    before = current.role
    current.role = role
    current.save(update_fields=["role"])
    actor.record(
        organization=current.organization,
        action="membership.change_role",
        target=member_label(current),
        before={"role": before},
        after={"role": role},
    )
    return current


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor = SYSTEM) -> None:
    current = Membership.objects.select_for_update().get(pk=membership.pk)
    if current.role == Membership.Role.ADMIN:
        _ensure_another_admin(current)
    actor.record(
        organization=current.organization,
        action="membership.remove",
        target=member_label(current),
        before={"user": current.user.get_username(), "role": current.role},
    )
    current.delete()


@transaction.atomic
def invitation_create(*, organization: Organization, email: str, role: str, actor: Actor) -> Invitation:
    """Record the invitation and email its link once the transaction commits (a rollback sends nothing)."""
    email = email.strip().lower()
    if role not in Membership.Role.values:
        raise ValueError(f"Unknown role {role!r}; valid: {', '.join(Membership.Role.values)}.")
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValueError(f"{email} is already a member of {organization.name}.")
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, invited_by=actor.user if actor.user else None
    )
    actor.record(
        organization=organization,
        action="invitation.create",
        target=f"invitation of {email}",
        after={"email": email, "role": role},
    )
    inviter = actor.user.get_username() if actor.user is not None else "An administrator"
    link = invitation_link(invitation)
    subject, body = invitation_message(invitation, link, inviter)
    # Sent inside the transaction: a mail server that refuses rolls the invitation back and the admin sees why.
    try:
        send_mail(subject, body, None, [email], fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        raise ValueError(f"The invitation email to {email} could not be sent ({type(exc).__name__}: {exc}).") from exc
    return invitation


def invitation_for_token(*, invitation_id: int, token: str) -> Invitation | None:
    """The pending invitation the link names, or None (unknown, tampered, expired or already used)."""
    invitation = Invitation.objects.select_related("organization").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None:
        return None
    return invitation if invitation_tokens.check_token(invitation, token) else None


@transaction.atomic
def invitation_accept(*, invitation: Invitation, token: str, user: Any) -> Membership:
    """Use the invitation once: `user` (signed in, or just created for it) becomes a member with its role.

    The row is locked and the token checked again inside the transaction, so two clicks on one link
    (or two browsers) make one membership and the second gets ValueError.
    """
    locked = Invitation.objects.select_for_update().select_related("organization").get(pk=invitation.pk)
    if locked.accepted_at is not None or not invitation_tokens.check_token(locked, token):
        raise ValueError("This invitation link is invalid, expired or already used.")
    organization = locked.organization
    existing = Membership.objects.filter(user=user, organization=organization).first()
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    if existing is not None:
        return existing  # already a member: the link is used up, the role is left as it is
    membership = Membership.objects.create(user=user, organization=organization, role=locked.role)
    Actor(user=user).record(
        organization=organization,
        action="invitation.accept",
        target=member_label(membership),
        after={"user": user.get_username(), "email": locked.email, "role": locked.role},
    )
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


# What the audit log keeps of a key: never its digest (nor, of course, its plaintext).
KEY_AUDIT_FIELDS = ["name", "prefix", "scopes", "device", "expires_at", "revoked_at", "rate_limit"]


def key_label(api_key: ApiKey) -> str:
    return f"API key '{api_key.name}' ({api_key.prefix}…)"


@transaction.atomic
def api_key_issue(
    *,
    organization: Organization,
    name: str,
    scopes: list[str],
    device: Any = None,  # a devices.Device of `organization`, or None for an org-wide key
    expires_at: datetime | None = None,
    rate_limit: str = "",
    actor: Actor = SYSTEM,
) -> IssuedKey:
    issued = _issue(
        organization=organization, name=name, scopes=scopes, device=device, expires_at=expires_at, rate_limit=rate_limit
    )
    actor.record(
        organization=organization,
        action="api_key.issue",
        target=key_label(issued.api_key),
        after=snapshot(issued.api_key, KEY_AUDIT_FIELDS),
    )
    return issued


def _issue(
    *,
    organization: Organization,
    name: str,
    scopes: list[str],
    device: Any = None,
    expires_at: datetime | None = None,
    rate_limit: str = "",
    rotated_from: ApiKey | None = None,
) -> IssuedKey:
    if not name.strip():
        raise ValueError("A key needs a name.")
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


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor = SYSTEM) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        actor.record(
            organization=api_key.organization,
            action="api_key.revoke",
            target=key_label(api_key),
            before={"revoked_at": None},
            after=snapshot(api_key, ["revoked_at"]),
        )
    return api_key


@transaction.atomic
def api_key_update(*, api_key: ApiKey, actor: Actor = SYSTEM, **values: Any) -> ApiKey:
    """Change a key's name, scopes, expiry or rate limit (the admin's change form); audited field by field."""
    before = snapshot(ApiKey.objects.get(pk=api_key.pk), KEY_AUDIT_FIELDS)
    if "scopes" in values:
        values["scopes"] = sorted(set(values["scopes"]))
    if "rate_limit" in values:
        values["rate_limit"] = validate_rate_limit(values["rate_limit"] or "")
    for name, value in values.items():
        setattr(api_key, name, value)
    api_key.save()
    old, new = changed(before, snapshot(api_key, KEY_AUDIT_FIELDS))
    if new:
        actor.record(
            organization=api_key.organization, action="api_key.update", target=key_label(api_key), before=old, after=new
        )
    return api_key


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, grace: timedelta | None = None, actor: Actor = SYSTEM) -> IssuedKey:
    """Issue a replacement with the same grants; the old key stops working after `grace`."""
    if grace is None:
        grace = timedelta(hours=settings.API_KEY_ROTATION_GRACE_HOURS)
    old = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if not old.is_active():
        raise ValueError("Only an active key can be rotated.")
    if hasattr(old, "rotated_to"):
        raise ValueError("This key has already been rotated.")
    issued = _issue(
        organization=old.organization,
        name=old.name,
        scopes=old.scopes,
        device=old.device,
        expires_at=old.expires_at,
        rate_limit=old.rate_limit,
        rotated_from=old,
    )
    before_expiry = snapshot(old, ["expires_at"])["expires_at"]
    deadline = timezone.now() + grace
    if old.expires_at is None or old.expires_at > deadline:
        old.expires_at = deadline
        old.save(update_fields=["expires_at"])
    actor.record(
        organization=old.organization,
        action="api_key.rotate",
        target=key_label(old),
        before={"prefix": old.prefix, "expires_at": before_expiry},
        after={"prefix": issued.api_key.prefix, "old_key_expires_at": snapshot(old, ["expires_at"])["expires_at"]},
    )
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
