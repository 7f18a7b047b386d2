"""Environment helpers that fail loudly.

A typo in an environment variable must stop the process at start-up with a
message naming the variable, never silently fall back to a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int_list(name: str, default: list[int], *, minimum: int = 0) -> list[int]:
    """Comma-separated integers, e.g. NOTIFY_RETRY_DELAYS=5,300,1800."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    values = []
    for item in raw.split(","):
        try:
            value = int(item.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{name}={raw!r}: {item.strip()!r} is not an integer.") from None
        if value < minimum:
            raise ImproperlyConfigured(f"{name}={raw!r}: {value} is below the minimum of {minimum}.")
        values.append(value)
    return values


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the file named by NAME_FILE (Docker/systemd credentials)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return os.environ.get(name, default)


# Schemes Beacon ships drivers for; dj-database-url knows more (mysql, oracle...) whose drivers are not installed.
_DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}
_DATABASE_FIX = "use postgres://USER:PASSWORD@HOST:5432/NAME, or unset it for the embedded SQLite file"


def env_database(name: str, *, conn_max_age: int) -> dict[str, Any] | None:
    """NAME parsed as a database URL (None when unset); a bad one stops start-up naming NAME and the fix."""
    import dj_database_url  # here, so portal.env stays importable without Django's database extras

    raw = env_secret(name).strip()  # NAME_FILE too: the URL holds the database password
    if not raw:
        return None
    scheme, sep, _ = raw.partition("://")
    if not sep or not scheme:
        raise ImproperlyConfigured(f"{name}={_redact(raw)!r} is not a URL (no '://'); {_DATABASE_FIX}.")
    if scheme.lower() not in _DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} scheme {scheme!r} is not supported (PostgreSQL or SQLite only); {_DATABASE_FIX}."
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(raw, conn_max_age=conn_max_age))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={_redact(raw)!r} cannot be parsed ({exc}); {_DATABASE_FIX}.") from None
    return config


def env_url(name: str, *, schemes: tuple[str, ...], example: str, default: str = "") -> str:
    """NAME as a URL with one of `schemes` (or `default` when unset); anything else stops start-up."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    scheme = raw.partition("://")[0].lower() if "://" in raw else ""
    if scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name}={_redact(raw)!r} must start with {' or '.join(s + '://' for s in schemes)}; e.g. {example}."
        )
    return raw


def _redact(url: str) -> str:
    """A URL with its password replaced, fit for an error message (messages end up in logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
