"""Django admin for devices (organizations, members and keys: accounts.admin)."""

from __future__ import annotations

from devices.admin import devices

__all__ = ["devices"]
