"""OpenAPI description of API-key authentication for drf-spectacular."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    # Without this, drf-spectacular warns on every view (and `check --deploy` fails at WARNING level).
    target_class = "devices.authentication.ApiKeyAuthentication"
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
