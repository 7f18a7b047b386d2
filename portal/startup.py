"""Start-up errors a person can act on: one line naming the variable and the fix, not a traceback.

manage.py, portal/wsgi.py and portal/celery.py call these before Django runs anything, so
`DATABASE_URL=mysql//foo` or a PostgreSQL that is down reads as one `beacon: ...` line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured

EXIT_CONFIGURATION = 2  # like a usage error: nothing ran
EXIT_UNAVAILABLE = 3  # the configuration is valid but a server it names is unreachable


def exit_on_configuration_error() -> None:
    """Load the settings now; an ImproperlyConfigured becomes one line on stderr and exit status 2."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 -- touching a setting imports portal/settings.py
    except ImproperlyConfigured as exc:
        print(f"beacon: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIGURATION) from None


@contextmanager
def exit_on_database_unreachable() -> Iterator[None]:
    """A command failing because the database cannot be reached exits with one line naming DATABASE_URL.

    Any other OperationalError (a lock timeout, a failed statement) keeps its traceback: the connection
    is retried once, and only when that fails too is the error about reaching the server.
    """
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        yield
    except OperationalError as exc:
        try:
            connection.close()
            connection.ensure_connection()
        except OperationalError as retry_exc:
            print(f"beacon: {database_unreachable_message(retry_exc)}", file=sys.stderr)
            raise SystemExit(EXIT_UNAVAILABLE) from None
        raise exc


def database_unreachable_message(exc: BaseException) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        where = f"the SQLite file {db['NAME']}"
        fix = "check that its directory (BEACON_VAR_DIR) is writable, or set DATABASE_URL"
    else:
        where = f"{db.get('USER') or '?'}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db.get('NAME')}"
        fix = "start PostgreSQL there or fix DATABASE_URL (postgres://USER:PASSWORD@HOST:5432/NAME)"
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if "does not exist" in reason and not db["ENGINE"].endswith("sqlite3"):
        host, user = db.get("HOST") or "localhost", db.get("USER") or "postgres"
        fix = f"create it (createdb -h {host} -U {user} {db.get('NAME')}) or fix DATABASE_URL"
    return f"cannot connect to the database of DATABASE_URL ({where}): {reason}; {fix}."
