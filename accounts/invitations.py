"""Invitation links: Django's password-reset token machinery over an `Invitation` row.

The token is `<timestamp>-<HMAC>` (django.contrib.auth.tokens): the HMAC covers the invitation's id, email,
role and `accepted_at`, so the link stops working once accepted (single use) and cannot be edited to another
invitation or role; the timestamp makes it expire after INVITATION_TIMEOUT_SECONDS (Django's own check uses
PASSWORD_RESET_TIMEOUT, hence the small `check_token` below). SECRET_KEY signs it; nothing secret is stored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int

from accounts.models import Invitation


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "beacon.accounts.invitations"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:  # `user` is the Invitation
        invitation: Invitation = user
        accepted = "" if invitation.accepted_at is None else invitation.accepted_at.isoformat()
        return (
            f"{invitation.pk}|{invitation.email}|{invitation.role}|{invitation.organization_id}|{accepted}|{timestamp}"
        )

    def check_token(self, user: Any, token: str | None) -> bool:
        if not (user and token) or "-" not in token:
            return False
        ts_b36 = token.split("-", 1)[0]
        try:
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return (self._num_seconds(self._now()) - ts) <= settings.INVITATION_TIMEOUT_SECONDS


invitation_tokens = InvitationTokenGenerator()


def invitation_link(invitation: Invitation) -> str:
    token = invitation_tokens.make_token(invitation)  # type: ignore[arg-type]  # any object with a stable hash value
    return f"{settings.PUBLIC_URL.rstrip('/')}/accounts/invite/{invitation.pk}/{token}/"


def invitation_message(invitation: Invitation, link: str, inviter: str) -> tuple[str, str]:
    """(subject, text body) of the invitation email."""
    organization = invitation.organization
    hours = settings.INVITATION_TIMEOUT_SECONDS // 3600
    subject = f"You are invited to {organization.name} on Beacon"
    body = (
        f"{inviter} invited you to join {organization.name} on Beacon as {invitation.get_role_display().lower()}.\n\n"
        f"Accept the invitation: {link}\n\n"
        f"The link works once and expires in {hours} hours. If you did not expect it, ignore this email.\n"
    )
    return subject, body
