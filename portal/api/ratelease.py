"""Per-process leases on a rate-limit budget: a busy key asks Redis once per lease, not once per request.

A request of a key with budget `limit` per window takes one token from this process's lease for the key's
current window; when the lease is empty, one Lua call hands this process up to `lease_size(limit)` more
tokens (fewer when the window has fewer left). Redis counts every token it hands out, so across all
processes and hosts no more than `limit` requests are admitted per window, exactly as before. What a lease
costs: tokens a process leased but did not use before the window ends are lost, so other processes may be
refused up to processes x (lease - 1) requests early — at most 1 % of the budget per process (LEASE_SHARE).

A budget under 200 per window has a lease of one token: one Redis call per request, counted exactly as
django-ratelimit counts (refused requests included). The Redis round trip was the largest wait of a small
push (docs/benchmarks.md "Ingest speed", profile).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from redis.exceptions import NoScriptError

LEASE_SHARE = 100  # a lease is at most 1/LEASE_SHARE of the budget

# KEYS[1] the counter; ARGV[1] its life in seconds, ARGV[2] the budget, ARGV[3] the tokens wanted.
# Hands out what is wanted or what is left, whichever is less; with nothing left it still counts the
# request (one), as django-ratelimit counts refused requests. Returns {count after, tokens handed out}.
# Atomic in Redis, so the count is exact across workers and hosts, and a counter never lives without its expiry.
_LEASE_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local take = math.max(math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) - used), 1)
local count = redis.call('INCRBY', KEYS[1], take)
if count == take then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, take}
"""
_LEASE_SHA = hashlib.sha1(_LEASE_LUA.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


def lease_size(limit: int, most: int) -> int:
    """Tokens asked for per Redis call: 1 % of the budget, at least 1 and at most `most`."""
    return max(1, min(limit // LEASE_SHARE, most))


class Leases:
    """This process's unspent tokens, per counter key (the key names the window, so a new window starts empty)."""

    def __init__(self) -> None:
        self._left: dict[str, int] = {}
        self._lock = threading.Lock()  # gthread workers share one Leases between threads

    def spend(self, client: Any, key: str, *, limit: int, life: int, most: int) -> bool:
        """Take one token for `key`; False when the budget is spent (the request is to be refused)."""
        with self._lock:
            left = self._left.get(key, 0)
            if left > 0:
                self._left[key] = left - 1
                return True
        wanted = lease_size(limit, most)
        # One EVALSHA sent straight through the client (redis-py's Script object costs a tenth of a small
        # push's CPU in argument shuffling); EVAL loads it when this Redis does not know it yet.
        try:
            count, taken = client.execute_command("EVALSHA", _LEASE_SHA, 1, key, life, limit, wanted)
        except NoScriptError:
            count, taken = client.execute_command("EVAL", _LEASE_LUA, 1, key, life, limit, wanted)
        if int(count) > limit:
            return False
        if int(taken) > 1:
            with self._lock:
                if len(self._left) > 10_000:  # keys of past windows: drop them all rather than track windows
                    self._left.clear()
                self._left[key] = self._left.get(key, 0) + int(taken) - 1
        return True

    def clear(self) -> None:
        with self._lock:
            self._left.clear()


leases = Leases()
