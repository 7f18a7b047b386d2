"""Django admin for organizations, members, devices and API keys.

Split by concept: `orgs` (organizations, memberships, devices) and `api_keys`.
"""

from __future__ import annotations

from devices.admin import api_keys, orgs

__all__ = ["api_keys", "orgs"]
