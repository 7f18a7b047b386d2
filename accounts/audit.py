"""The audit log's one write: every configuration change by a member or a key calls `audit_record`.

Call it inside the change's transaction (services do), with the acting user or key, so the entry commits or
rolls back with the change. `before`/`after` hold the changed fields only, never secrets (a key's plaintext or
digest, a webhook secret: record "rotated" instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import models

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


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user (pages, the admin), a key (API writes), or neither (the system:
    management commands, tasks). Services take one and record the change with it."""

    user: Any = None
    key: ApiKey | None = None

    def record(
        self,
        *,
        organization: Organization,
        action: str,
        target: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        return audit_record(
            organization=organization,
            action=action,
            target=target,
            user=self.user,
            key=self.key,
            before=before,
            after=after,
        )


SYSTEM = Actor()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """`fields` of `obj` as JSON-safe values (a foreign key as its str), for `before`/`after`."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
