"""A kept, preparing psycopg cursor per PostgreSQL connection, for the hot one-statement writes.

`with prepared_cursor() as cursor:` is used like `with connection.cursor() as cursor:`; on SQLite (the
embedded demo) it is that plain cursor.

Creating a psycopg cursor costs about as much CPU as a small push's INSERT itself, and Django makes one per
`connection.cursor()`; a statement sent with `prepare=True` is parsed and planned once per connection, not
per request. Django turns psycopg's automatic preparing off (for transaction-mode poolers; PgBouncer >= 1.21
handles protocol-level prepared statements), so this cursor asks for it. Connections are per thread, and so
is the kept cursor; a new connection (recycled, after an outage) gets its own. docs/benchmarks.md, "Ingest speed".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

_preparing_cursor: Any = None


def _kept_cursor() -> Any:
    global _preparing_cursor
    if _preparing_cursor is None:  # built on first use: the SQLite demo never imports the Postgres backend
        from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

        class PreparingCursor(ServerBindingCursor):  # type: ignore[misc]
            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                return super().execute(query, params, prepare=True)

        _preparing_cursor = PreparingCursor
    connection.ensure_connection()
    raw = connection.connection
    kept = getattr(raw, "_beacon_preparing_cursor", None)
    if kept is None or kept.closed:
        kept = raw._beacon_preparing_cursor = _preparing_cursor(raw)
    return kept


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """On PostgreSQL this connection's kept cursor, wrapped by Django like any of its cursors (query log,
    execute wrappers, error translation) and left open for the next statement; elsewhere a plain cursor."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    yield connection._prepare_cursor(_kept_cursor())  # type: ignore[attr-defined]
