"""Ingest fixtures: the store (sql on Postgres unless a test asks for influx), readers, Redis cache."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache

from accounts.models import Organization
from timeseries import TimeSeriesStore, get_store, reset_store

REDIS_TEST_URL = "redis://127.0.0.1:6379/7"  # db 7: this suite's; keys carry a per-test prefix


@pytest.fixture(autouse=True)
def _fresh_cache_and_store() -> Iterator[None]:
    # LocMem survives between tests in one process: rate-limit counters and "seen" markers must not leak.
    cache.clear()
    reset_store()
    yield
    reset_store()


@pytest.fixture
def store(db: None) -> TimeSeriesStore:
    return get_store()


@pytest.fixture
def read_points() -> Callable[..., dict[str, list[tuple[int, Any]]]]:
    """All raw points of a measurement for an org (optionally one device): {field: [(time_ns, value)]}."""

    def _read(
        org: Organization,
        measurement: str,
        fields: list[str],
        device: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, list[tuple[int, Any]]]:
        now = datetime.now(UTC)
        query_tags = dict(tags or {})
        if device is not None:
            query_tags["device"] = device
        results = get_store().query(
            tenant=str(org.id),
            measurement=measurement,
            fields=fields,
            tags=query_tags or None,
            start=now - timedelta(days=400),
            end=now + timedelta(hours=1),
        )
        out: dict[str, list[tuple[int, Any]]] = {}
        for series in results:
            out.setdefault(series.field, []).extend(series.points)
        return out

    return _read


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[str]:
    """Point the default cache (and so django-ratelimit) at a real Redis; delete this test's keys after."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        from tests.conftest import require_server

        require_server(False, "Redis is not running on 127.0.0.1:6379")
    prefix = f"beacon-api-test-{uuid.uuid4().hex[:10]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def now_ns() -> int:
    return time.time_ns()


@pytest.fixture(autouse=True)
def _fresh_ingest_memos() -> Iterator[None]:
    from devices import services

    services.clear_memos()
    yield
    services.clear_memos()
