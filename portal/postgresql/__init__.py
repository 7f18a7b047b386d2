"""Beacon's PostgreSQL engine (`base.py`) and the settings that give it its deadlines."""

from __future__ import annotations

from typing import Any


def with_timeouts(
    config: dict[str, Any], *, connect_timeout: int, statement_timeout_ms: int, answer_grace_ms: int
) -> dict[str, Any]:
    """A dj-database-url PostgreSQL config switched to this engine, with every wait bounded (0 disables each).

    libpq gives up connecting after `connect_timeout` s (psycopg enforces at least 2); the server cancels a
    statement after `statement_timeout_ms`; when the server cannot answer at all (frozen, partitioned) the
    client stops waiting `answer_grace_ms` later (base.DeadlineConnection).
    """
    config = {**config, "ENGINE": "portal.postgresql"}
    options = config["OPTIONS"] = dict(config.get("OPTIONS", {}))
    # A persistent connection that died while idle (database restarted, proxy cut) is replaced at the start
    # of the next request instead of failing it.
    config["CONN_HEALTH_CHECKS"] = True
    if connect_timeout:
        options.setdefault("connect_timeout", connect_timeout)
    if statement_timeout_ms:
        options["options"] = f"-c statement_timeout={statement_timeout_ms} {options.get('options', '')}"
        config["ANSWER_TIMEOUT"] = (statement_timeout_ms + answer_grace_ms) / 1000
    return config
