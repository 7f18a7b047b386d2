"""One log line when a dependency goes down and one when it is back, per process, not one per request.

During an outage every request fails the same way; a traceback per request once flooded the log and
rotation wiped the lines that explained the start of the incident within a minute.
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger("beacon.outage")


class Outage:
    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self.retry_at = 0.0  # monotonic; callers may skip the dependency until then

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def down(self, exc: BaseException, *, retry_in: float = 0.0) -> None:
        with self._lock:
            self.retry_at = time.monotonic() + retry_in
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        # The error text, not a traceback: the cause is the dependency, not this code.
        logger.error(
            "%s unavailable",
            self.dependency,
            extra={"dependency": self.dependency, "state": "down", "error": f"{type(exc).__name__}: {exc}"[:300]},
        )

    def up(self) -> None:
        if self._down_since is None:  # the common case: no lock on the hot path
            return
        with self._lock:
            if self._down_since is None:
                return
            seconds = time.monotonic() - self._down_since
            self._down_since = None
        logger.warning(
            "%s available again",
            self.dependency,
            extra={"dependency": self.dependency, "state": "up", "down_seconds": round(seconds, 1)},
        )


database = Outage("database")
cache = Outage("cache")
store = Outage("time-series store")
