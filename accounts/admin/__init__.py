"""Django admin for organizations, members and API keys.

Split by concept: `orgs` (organizations, memberships) and `api_keys`.
"""

from __future__ import annotations

from accounts.admin import api_keys, orgs

__all__ = ["api_keys", "orgs"]
