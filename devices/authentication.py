"""DRF authentication by API key, and the principal it yields."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from devices.models import ApiKey, Organization
from devices.services import api_key_authenticate
from portal.logging import key_id_var, org_var

_SCHEMES = ("bearer", "token")


@dataclass(frozen=True)
class KeyPrincipal:
    """What `request.user` is for a key-authenticated call: the key's org, never a person."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def organization(self) -> Organization:
        return self.api_key.organization

    def __str__(self) -> str:
        return f"key {self.api_key.key_id}"


def request_organization(request: Request) -> Organization:
    """The organization of the key that authenticated `request` (views behind HasScope only)."""
    api_key = request.auth
    if not isinstance(api_key, ApiKey):
        raise exceptions.NotAuthenticated()
    return api_key.organization


def request_device_id(request: Request) -> int | None:
    """The device a device-bound key acts for (it sees only that one), or None for an org-wide key."""
    api_key = request.auth
    return api_key.device_id if isinstance(api_key, ApiKey) else None


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
        api_key = api_key_authenticate(plaintext)
        if api_key is None:
            # One message for unknown id, wrong secret, revoked and expired keys.
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        key_id_var.set(api_key.key_id)
        org_var.set(api_key.organization.slug)
        return KeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="beacon"'
