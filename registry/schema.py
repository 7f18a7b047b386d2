"""OpenAPI description of the key-as-Basic-password authentication (imported in RegistryConfig.ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BasicKeyScheme(OpenApiAuthenticationExtension):
    target_class = "registry.authentication.BasicKeyAuthentication"
    name = "keyAsBasicPassword"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "basic", "description": "HTTP Basic with the API key as password."}
