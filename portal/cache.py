"""Django's Redis cache with `incr` as one atomic round trip (used by django-ratelimit on every request).

Django's RedisCache.incr sends EXISTS then INCRBY: two round trips, and not atomic — a counter
that expires between them is re-created by INCRBY *without* a TTL and then never resets. A short
Lua script does both on the server in one step. django-ratelimit's get_usage() then costs two
round trips per request (SET NX EX to open the window, this INCR) instead of three.
It also reuses one redis.Redis object per connection pool instead of building one per command.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_INCR_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""


class _Client(RedisCacheClient):
    def __init__(self, servers: Any, **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django builds a new redis.Redis object (and its response-callback table) on every call;
        # one per pool does that work once. redis.Redis is thread-safe: it checks a connection out
        # of the pool for each command.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # not in django-stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def incr(self, key: Any, delta: int) -> Any:
        client = self.get_client(key, write=True)
        # register_script sends EVALSHA and falls back to EVAL once if the server lost the script.
        script = client.register_script(_INCR_IF_EXISTS)
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")  # what Django's own incr raises
        return value


class AtomicIncrRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client
