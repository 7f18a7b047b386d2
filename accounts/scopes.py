"""The scopes an API key can hold, registered by the apps that check them.

Each app calls `register_scope(code, label)` in its `AppConfig.ready()`, so only scopes some installed app
enforces are offered (admin form, `issuekey`, validation of new keys). `members=True` marks a read scope a
member's browser session holds too (accounts.authentication.MemberGrant): members read their org's data
through the same endpoints as a read key. A key keeps a scope even if no app registers it any more.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeInfo:
    code: str
    label: str
    members: bool


_registry: dict[str, ScopeInfo] = {}


def register_scope(code: str, label: str, *, members: bool = False) -> None:
    """Offer `code` for keys; idempotent (ready() may run more than once in tests)."""
    existing = _registry.get(code)
    if existing is not None and (existing.label, existing.members) != (label, members):
        raise ValueError(f"scope {code!r} is already registered as {existing.label!r}")
    _registry[code] = ScopeInfo(code, label, members)


def registered_scopes() -> list[str]:
    return list(_registry)


def scope_choices() -> list[tuple[str, str]]:
    """(code, label) pairs in registration order; a callable so forms see scopes registered after import."""
    return [(info.code, info.label) for info in _registry.values()]


def member_scopes() -> frozenset[str]:
    return frozenset(code for code, info in _registry.items() if info.members)
