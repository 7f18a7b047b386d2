"""Scope checks: a view names the scope it needs in `required_scope`."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from devices.models import ApiKey


class HasScope(permissions.BasePermission):
    message = "This API key lacks the required scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        required = getattr(view, "required_scope", None)
        if required is None:
            return True
        if not api_key.has_scope(required):
            self.message = f"This API key lacks the '{required}' scope."
            return False
        return True
