"""A short per-process memory of successful API-key authentications (API_KEY_CACHE_SECONDS).

A busy device pushes every second or more often; looking its key up each time is the largest
database cost of a small push after the write itself (docs/benchmarks.md). Only *successful*
authentications are remembered, keyed by key id + the HMAC digest of the presented secret, so a
wrong secret never matches an entry. Revoking, rotating, editing or deleting a key drops it from this
process's memory at once (signals below), and so does saving or deleting any organization or
device (a remembered key carries them); other processes (gunicorn workers, hosts) may keep
accepting a revoked key for up to API_KEY_CACHE_SECONDS. 0 disables the memory.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from django.conf import settings
from django.db.models import Model

from accounts.keys import DUMMY_DIGEST
from accounts.models import ApiKey

_MAX_ENTRIES = 10_000
# key_id -> (digest, key, monotonic deadline). One entry per key id: a second secret for the same id
# cannot exist (the digest is unique per key), so a mismatching digest is simply a miss.
_entries: dict[str, tuple[str, ApiKey, float]] = {}


def ttl() -> float:
    return float(getattr(settings, "API_KEY_CACHE_SECONDS", 0))


def recall(key_id: str, digest: str) -> ApiKey | None:
    if ttl() <= 0:
        return None
    entry = _entries.get(key_id)
    # A miss compares too (against the dummy), so a remembered id with a wrong secret is not slower than a miss.
    stored_digest, api_key, deadline = entry if entry is not None else (DUMMY_DIGEST, None, 0.0)
    if not hmac.compare_digest(stored_digest, digest) or deadline <= time.monotonic():
        return None
    return api_key


def remember(key_id: str, digest: str, api_key: ApiKey) -> None:
    seconds = ttl()
    if seconds <= 0:
        return
    if len(_entries) >= _MAX_ENTRIES:
        _entries.clear()  # crude but bounded; a refill costs one query per key
    _entries[key_id] = (digest, api_key, time.monotonic() + seconds)


def forget(key_id: str) -> None:
    _entries.pop(key_id, None)


def clear() -> None:
    _entries.clear()


def _on_key_change(sender: type[ApiKey], instance: ApiKey, **kwargs: Any) -> None:
    forget(instance.key_id)


def _on_owner_change(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    # A remembered key carries its organization and device (settings, names); edits to those are rare,
    # so drop everything rather than track which keys point at them.
    clear()


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from accounts.models import Organization

    device_model = ApiKey.device_model()
    post_save.connect(_on_key_change, sender=ApiKey, dispatch_uid="accounts.key_cache.save")
    post_delete.connect(_on_key_change, sender=ApiKey, dispatch_uid="accounts.key_cache.delete")
    for model in (Organization, device_model):
        name = model.__name__
        post_save.connect(_on_owner_change, sender=model, dispatch_uid=f"accounts.key_cache.save.{name}")
        post_delete.connect(_on_owner_change, sender=model, dispatch_uid=f"accounts.key_cache.delete.{name}")
