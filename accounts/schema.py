"""OpenAPI description of API-key and member-session authentication for drf-spectacular."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    # Without this, drf-spectacular warns on every view (and `check --deploy` fails at WARNING level).
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyHeader"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        # Either header works: alternatives (OR), not both at once (AND).
        return [{"bearerAuth": []}, {"apiKeyHeader": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer bcn_...` (or `Authorization: Token bcn_...` for Telegraf).",
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "`X-API-Key: bcn_...`"},
        ]


class MemberSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.MemberSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "A member's session from /accounts/login/ (read endpoints; `?org=<slug>` picks the "
            "organization; unsafe methods need the CSRF token in `X-CSRFToken`).",
        }
