"""The production cache (django-redis) against a real Redis: the incr contract rate limits rely on."""

from __future__ import annotations

import uuid

import pytest
import redis
from django_redis.cache import RedisCache

from tests.conftest import require_server

URL = "redis://127.0.0.1:6379/7"


@pytest.fixture
def cache() -> RedisCache:
    try:
        redis.Redis.from_url(URL).ping()
        available = True
    except redis.ConnectionError:
        available = False
    require_server(available, "Redis is not running on 127.0.0.1:6379")
    return RedisCache(URL, {"KEY_PREFIX": f"t-{uuid.uuid4().hex}"})


def test_incr_counts_and_keeps_the_ttl(cache: RedisCache) -> None:
    assert cache.add("n", 1, 30) is True
    assert cache.incr("n") == 2
    assert cache.incr("n", 5) == 7
    assert cache.get("n") == 7
    ttl = redis.Redis.from_url(URL).ttl(cache.make_key("n"))
    assert 0 < ttl <= 30  # the increment keeps the window's expiry
    cache.delete("n")


def test_incr_of_a_missing_key_raises_and_creates_nothing(cache: RedisCache) -> None:
    # An expired window must not be resurrected by a late increment without a TTL.
    with pytest.raises(ValueError, match="not found"):
        cache.incr("absent")
    assert redis.Redis.from_url(URL).exists(cache.make_key("absent")) == 0


def test_incr_is_one_round_trip(cache: RedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.add("n", 1, 30)
    sent: list[str] = []
    original = redis.Redis.execute_command

    def spy(self: redis.Redis, *args: object, **kwargs: object) -> object:
        sent.append(str(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", spy)
    assert cache.incr("n") == 2
    assert sent == ["EVAL"]
    cache.delete("n")
