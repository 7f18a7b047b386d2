"""Scope checks: a view names the scope it needs in `required_scope`."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from devices.models import ApiKey, Device


def api_key_can_act_for_device(api_key: ApiKey, device: Device) -> bool:
    """True if `api_key` may read or write `device`'s data.

    An org-wide key acts for every device of its org; a device-bound key only for its own device.
    """
    if device.organization_id != api_key.organization_id:
        return False
    return api_key.device_id is None or api_key.device_id == device.id


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
