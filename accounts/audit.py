"""The audit log's one write: every configuration change by a member or a key calls `audit_record`.

Call it inside the change's transaction (services do), with the acting user or key, so the entry commits or
rolls back with the change. `before`/`after` hold the changed fields only, never secrets (a key's plaintext or
digest, a webhook secret: record "rotated" instead).
"""

from __future__ import annotations

from typing import Any

from accounts.models import ApiKey, AuditEntry, Organization

SECRET_FIELDS = frozenset({"secret", "digest", "plaintext", "password", "key", "token"})


def actor_label(*, user: Any = None, key: ApiKey | None = None) -> str:
    if key is not None:
        return f"key {key.prefix}… ({key.name})"
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.get_username())
    return "system"


def _clean(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: ("(hidden)" if k in SECRET_FIELDS else v) for k, v in values.items()}


def audit_record(
    *,
    organization: Organization,
    action: str,
    target: str,
    user: Any = None,
    key: ApiKey | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one change. `user` (a member acting from a page) or `key` (an API call); neither: the system."""
    return AuditEntry.objects.create(
        organization=organization,
        actor_user=user if user is not None and getattr(user, "is_authenticated", False) else None,
        actor_key=key,
        actor_label=actor_label(user=user, key=key),
        action=action,
        target=target[:200],
        before=_clean(before),
        after=_clean(after),
    )
