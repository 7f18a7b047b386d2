"""Django's PostgreSQL backend with a client-side answer deadline (settings.DATABASES OPTIONS below).

`statement_timeout` is enforced by the server, so it cannot help when the server itself is frozen
(process stopped, disk stall, a proxy holding the connection) or the network drops replies: libpq
would wait on the socket forever and the request with it. Every wait for an answer on a connection
made here gives up after `answer_timeout` seconds, drops the connection (its protocol state is
unknown) and raises OperationalError, which the API maps to 503 + Retry-After.

Settings: DATABASES["default"]["ANSWER_TIMEOUT"] (seconds; absent or 0 = wait forever). A top-level key, not
an OPTIONS entry: everything in OPTIONS goes to libpq, which refuses keywords it does not know.
Connection attempts are bounded separately by libpq's `connect_timeout`.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import psycopg
from django.db.backends.postgresql import base
from psycopg import errors

from portal.logging import database_outage

RV = TypeVar("RV")
_WAIT_INTERVAL = 0.1  # psycopg's own: how often a wait wakes to notice Ctrl-C
# A kept connection that served a request cleanly less than this long ago skips the per-request health check
# (CONN_HEALTH_CHECKS' `SELECT 1`, a round trip that was 14 % of a small push: docs/benchmarks.md).
HEALTH_CHECK_IDLE_SECONDS = 1.0


class DeadlineConnection(psycopg.Connection[Any]):
    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        if timeout is not None or not self.answer_timeout:
            return super().wait(gen, interval=interval, timeout=timeout)
        try:
            return super().wait(gen, interval=interval, timeout=self.answer_timeout)
        except errors._WaitTimeout:
            # The generator was abandoned mid-protocol: this connection cannot be reused.
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"no answer from PostgreSQL within {self.answer_timeout:g} s; connection dropped"
            ) from None


class _Driver:
    """psycopg, except that connect() makes DeadlineConnections (Django calls self.Database.connect)."""

    def __init__(self, answer_timeout: float | None) -> None:
        self._answer_timeout = answer_timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)

    def connect(self, *args: Any, **kwargs: Any) -> DeadlineConnection:
        connection = DeadlineConnection.connect(*args, **kwargs)
        connection.answer_timeout = self._answer_timeout
        database_outage.up()  # a new connection is how the database comes back after an outage
        return connection


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        answer_timeout = self.settings_dict.get("ANSWER_TIMEOUT")
        self.Database = _Driver(float(answer_timeout) if answer_timeout else None)
        # close_old_connections() runs this at every request's start and end: at a start, the time since the
        # last call is how long the connection sat idle.
        self._touched_at = 0.0
        self._recently_used = False

    def close_if_health_check_failed(self) -> None:
        """The health check, only for a connection that sat idle (where a restart or a cut proxy hides).

        A busy connection answered a moment ago; if it died since, its next statement fails (a 503, as during
        any outage), Django marks it errored and closes it when that request ends (close_if_unusable_or_obsolete),
        and the next request connects anew. A connection psycopg already knows is broken is closed here.
        """
        conn = self.connection
        if conn is not None and self.health_check_enabled and not self.health_check_done:
            if conn.broken or conn.closed:
                self.close()
                self.health_check_done = True
                return
            if self._recently_used:
                self.health_check_done = True
                return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self) -> None:
        now = time.monotonic()
        self._recently_used = not self.errors_occurred and now - self._touched_at < HEALTH_CHECK_IDLE_SECONDS
        self._touched_at = now
        super().close_if_unusable_or_obsolete()
