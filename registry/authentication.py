"""HTTP Basic with the key as password (any user name): what prometheus_client's `basic_auth_handler` and
Prometheus' `basic_auth` scrape config send. Listed after the key class, which handles Bearer/Token/X-API-Key
and leaves Basic to this one."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request

from accounts.authentication import ApiKeyAuthentication


class BasicKeyAuthentication(ApiKeyAuthentication):
    def authenticate(self, request: Request) -> Any:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            _user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Authorization: Basic is not base64 of user:key") from None
        request.META["HTTP_AUTHORIZATION"] = f"Bearer {password}"
        try:
            return super().authenticate(request)
        finally:
            request.META["HTTP_AUTHORIZATION"] = header


KEY_OR_BASIC = [ApiKeyAuthentication, BasicKeyAuthentication]
