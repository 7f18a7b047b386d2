"""The per-process memory of successful key authentications (API_KEY_CACHE_SECONDS)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import key_cache
from accounts import services as accounts
from accounts.models import ApiKey, Organization
from accounts.services import api_key_authenticate


def _key_id(plaintext: str) -> str:
    return plaintext.split("_")[1]


def _queries(plaintext: str) -> tuple[ApiKey | None, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        result = api_key_authenticate(plaintext)
    return result, [q["sql"] for q in captured.captured_queries]


def test_second_authentication_is_answered_from_memory(
    org: Organization, issue_key: Callable[..., str], settings: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 5
    plaintext = issue_key(org, ["metrics:write"])
    first, first_sql = _queries(plaintext)
    assert first is not None and first.organization == org
    assert len(first_sql) == 2  # the key lookup + the once-a-minute last_used_at update
    second, second_sql = _queries(plaintext)
    assert second_sql == []
    assert second is not None and second.pk == first.pk and second.organization.slug == org.slug


def test_wrong_secret_for_a_remembered_key_is_refused(
    org: Organization, issue_key: Callable[..., str], settings: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 5
    plaintext = issue_key(org, ["metrics:write"])
    assert api_key_authenticate(plaintext) is not None
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    assert api_key_authenticate(forged) is None
    assert api_key_authenticate(plaintext) is not None  # the real key is still remembered


def test_revoking_in_this_process_takes_effect_immediately(
    org: Organization, issue_key: Callable[..., str], settings: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 60
    plaintext = issue_key(org, ["metrics:write"])
    assert api_key_authenticate(plaintext) is not None
    accounts.api_key_revoke(api_key=ApiKey.objects.get(key_id=_key_id(plaintext)))  # a fresh instance
    assert api_key_authenticate(plaintext) is None


def test_revoking_elsewhere_takes_effect_after_the_ttl(
    org: Organization, issue_key: Callable[..., str], settings: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 1
    plaintext = issue_key(org, ["metrics:write"])
    assert api_key_authenticate(plaintext) is not None
    # Another process revokes: a queryset update fires no signal here, exactly like a change made elsewhere.
    ApiKey.objects.filter(key_id=_key_id(plaintext)).update(revoked_at=timezone.now())
    assert api_key_authenticate(plaintext) is not None  # still remembered: the documented window
    time.sleep(1.1)
    assert api_key_authenticate(plaintext) is None


def test_rotation_and_deletion_drop_the_memory(org: Organization, issue_key: Callable[..., str], settings: Any) -> None:
    settings.API_KEY_CACHE_SECONDS = 60
    plaintext = issue_key(org, ["metrics:write"])
    api_key_authenticate(plaintext)
    key_id = _key_id(plaintext)
    assert key_id in key_cache._entries
    accounts.api_key_rotate(api_key=ApiKey.objects.get(key_id=key_id))
    assert key_id not in key_cache._entries
    api_key_authenticate(plaintext)  # still valid during the grace period: remembered again
    ApiKey.objects.get(key_id=key_id).delete()
    assert api_key_authenticate(plaintext) is None


def test_expiry_is_checked_on_every_remembered_hit(
    org: Organization, issue_key: Callable[..., str], settings: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 60
    plaintext = issue_key(org, ["metrics:write"])
    remembered = api_key_authenticate(plaintext)
    assert remembered is not None
    remembered.expires_at = timezone.now()  # the remembered instance says it has just expired
    assert api_key_authenticate(plaintext) is None


@pytest.mark.parametrize("seconds", [0])
def test_zero_disables_the_memory(
    org: Organization, issue_key: Callable[..., str], settings: Any, seconds: int
) -> None:
    settings.API_KEY_CACHE_SECONDS = 60
    plaintext = issue_key(org, ["metrics:write"])
    api_key_authenticate(plaintext)  # remembered while the memory was on
    settings.API_KEY_CACHE_SECONDS = seconds
    key_cache.clear()
    api_key_authenticate(plaintext)
    result, sql = _queries(plaintext)
    assert result is not None and len(sql) == 1  # the key lookup, every time
    assert key_cache._entries == {}
    settings.API_KEY_CACHE_SECONDS = 60
    api_key_authenticate(plaintext)
    settings.API_KEY_CACHE_SECONDS = seconds  # switched off with an entry still fresh: not used
    result, sql = _queries(plaintext)
    assert result is not None and len(sql) == 1


def test_editing_the_organization_drops_the_memory(
    org: Organization, issue_key: Callable[..., str], settings: Any
) -> None:
    settings.API_KEY_CACHE_SECONDS = 60
    plaintext = issue_key(org, ["metrics:write"])
    assert api_key_authenticate(plaintext) is not None
    org.auto_register_devices = not org.auto_register_devices
    org.save()
    fresh, sql = _queries(plaintext)
    assert fresh is not None and len(sql) == 1  # looked up again: the new organization settings are seen
    assert fresh.organization.auto_register_devices == org.auto_register_devices
