"""Keys as Pushgateway and Prometheus clients send them: `Authorization: Bearer` (Prometheus' `authorization`
scrape config), and also HTTP Basic with the key as password (prometheus_client's `basic_auth_handler`,
Prometheus' `basic_auth`); the user name is ignored."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request

from accounts.authentication import ApiKeyAuthentication


class KeyOrBasicAuthentication(ApiKeyAuthentication):
    def authenticate(self, request: Request) -> Any:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return super().authenticate(request)
        try:
            _user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Authorization: Basic is not base64 of user:key") from None
        request.META["HTTP_AUTHORIZATION"] = f"Bearer {password}"
        try:
            return super().authenticate(request)
        finally:
            request.META["HTTP_AUTHORIZATION"] = header
