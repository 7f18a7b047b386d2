"""Rate limits on a real Redis, across separate HTTP connections to a live server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from accounts import services as accounts
from accounts.models import Organization
from ingest.scopes import METRICS_READ, METRICS_WRITE
from timeseries.models import DataPoint

pytestmark = pytest.mark.django_db(transaction=True)


def test_key_limit_is_shared_across_connections(
    live_server: Any, redis_cache: str, org: Organization, read_points: Callable
) -> None:
    issued = accounts.api_key_issue(organization=org, name="limited", scopes=[METRICS_WRITE], rate_limit="3/m")
    url = f"{live_server.url}/api/v2/write?precision=s"
    headers = {"Authorization": f"Token {issued.plaintext}", "Content-Type": "text/plain"}
    first, second = requests.Session(), requests.Session()
    statuses = []
    for i, session in enumerate([first, second, first, second]):
        response = session.post(url, data=f"m,device=d v={i}", headers=headers, timeout=10)
        statuses.append(response.status_code)
    assert statuses == [204, 204, 204, 429]
    body = response.json()
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body["code"] == "too_many_requests"
    assert body["retry_after"] == retry_after
    assert body["message"] == (f"Rate limit 3/m exceeded for key {issued.api_key.prefix}…; retry in {retry_after} s")
    assert DataPoint.objects.count() == 3  # the refused request wrote nothing
    # The count lives in Redis under this test's prefix, not in process memory.
    import redis

    keys = list(redis.Redis.from_url("redis://127.0.0.1:6379/7").scan_iter(match=f"{redis_cache}:*"))
    assert keys


def test_default_rate_applies_when_key_has_none(
    live_server: Any, redis_cache: str, org: Organization, settings: Any
) -> None:
    settings.API_KEY_DEFAULT_RATE = "2/m"
    issued = accounts.api_key_issue(organization=org, name="default", scopes=[METRICS_READ])
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    codes = [
        requests.get(f"{live_server.url}/api/v1/status", headers=headers, timeout=10).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_failed_authentication_spends_the_ip_budget(
    live_server: Any, redis_cache: str, org: Organization, settings: Any
) -> None:
    settings.RATELIMIT_ANONYMOUS_RATE = "2/m"
    url = f"{live_server.url}/api/v2/write"
    bad = {"Authorization": "Token bcn_0123456789ab_wrongsecret"}
    sessions = [requests.Session(), requests.Session(), requests.Session()]
    responses = [s.post(url, data="m,device=d v=1", headers=bad, timeout=10) for s in sessions]
    assert [r.status_code for r in responses] == [401, 401, 429]
    assert "unauthenticated requests from 127.0.0.1" in responses[2].json()["message"]
    assert int(responses[2].headers["Retry-After"]) >= 1
    assert DataPoint.objects.count() == 0
