"""DRF authentication: by API key, or by a member's browser session; and the grants they yield.

`request.auth` is always a grant (portal.api.permissions.Grant): the ApiKey itself, or a MemberGrant for a
session. Views that accept sessions list both classes (the default); write endpoints list only the key class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiKey, Organization
from accounts.scopes import member_scopes
from accounts.services import api_key_authenticate
from portal.api.errors import dependency_error
from portal.logging import key_id_var, org_var

_SCHEMES = ("bearer", "token")


@dataclass(frozen=True)
class KeyPrincipal:
    """What `request.user` is for a key-authenticated call: the key's org, never a person."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False

    @property
    def organization(self) -> Organization:
        return self.api_key.organization

    def __str__(self) -> str:
        return f"key {self.api_key.key_id}"


def extract_key(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() in _SCHEMES and value.strip():
            return value.strip()
        return None
    return request.META.get("HTTP_X_API_KEY") or None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Accepts `Authorization: Bearer|Token <key>` and `X-API-Key: <key>`."""

    def authenticate(self, request: Request) -> tuple[KeyPrincipal, ApiKey] | None:
        plaintext = extract_key(request)
        if plaintext is None:
            return None
        try:
            api_key = api_key_authenticate(plaintext)
        except (OperationalError, InterfaceError) as exc:
            # As an APIException, DRF marks the request unauthenticated instead of retrying the lookup on the
            # next `request.user` access; the handler answers 503 + Retry-After.
            raise dependency_error(exc) from exc
        if api_key is None:
            # One message for unknown id, wrong secret, revoked and expired keys.
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        key_id_var.set(api_key.key_id)
        org_var.set(api_key.organization.slug)
        return KeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="beacon"'


@dataclass(frozen=True)
class MemberGrant:
    """What a logged-in person may do through the API: the members' (read) scopes, for their own orgs.

    Which org a call acts for is accounts.tenancy's job (`?org=<slug>` or the user's only org).
    """

    user_id: int

    def has_scope(self, scope: str) -> bool:
        return scope in member_scopes()

    @property
    def ratelimit_bucket(self) -> str:
        return f"user:{self.user_id}"

    @property
    def ratelimit_rate(self) -> str:
        return str(settings.API_KEY_DEFAULT_RATE)

    @property
    def ratelimit_label(self) -> str:
        return f"user {self.user_id}"


class MemberSessionAuthentication(authentication.SessionAuthentication):
    """Django's session (the /accounts/login/ cookie), with DRF's CSRF check on unsafe methods."""

    def authenticate(self, request: Request) -> tuple[Any, MemberGrant] | None:
        found = super().authenticate(request)
        if found is None:
            return None
        user = found[0]
        return user, MemberGrant(user_id=user.pk)
