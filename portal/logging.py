"""JSON log lines carrying the request context (request id, org, key id).

The context lives in contextvars so any logger called while a request is being
served picks it up without passing the request around.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pythonjsonlogger.orjson import OrjsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
org_var: ContextVar[str | None] = ContextVar("org", default=None)
key_id_var: ContextVar[str | None] = ContextVar("key_id", default=None)


# An API key anywhere in a log line: `bcn_<key id>_<secret>`, also URL-encoded (`bcn%5F…`, as in a
# login redirect's `next=`). The key id is kept so the line stays useful; everything after it goes.
_KEY_IN_TEXT = re.compile(r"bcn(?:_|%5f)(?:([0-9a-f]{16})(?:_|%5f))?[^\s&\"'#<>]*", re.IGNORECASE)


def redact_secrets(text: str) -> str:
    """`text` with every API key cut to `bcn_<key id>_[redacted]` (or `bcn_[redacted]`)."""
    if "bcn" not in text.lower():  # the common case costs one scan
        return text
    return _KEY_IN_TEXT.sub(lambda m: f"bcn_{m.group(1)}_[redacted]" if m.group(1) else "bcn_[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    """Redacts API keys from a record's message, for loggers whose formatter is not ours (gunicorn's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.org = org_var.get()
        record.key_id = key_id_var.get()
        return True


class JsonFormatter(OrjsonFormatter):
    """One JSON object per line: time, level, logger, message, context, extras (orjson: half the time of json)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)
        self._last = threading.local()  # the record this thread formatted last, and its line

    def format(self, record: logging.LogRecord) -> str:
        # One record is formatted up to three times by the same formatter (stdout, the file handler's size
        # check, the file): the JSON is built once per record and thread (each build was ~3 % of a small push,
        # docs/benchmarks.md "Ingest speed").
        last = self._last
        if getattr(last, "record", None) is record:
            return str(last.text)
        # Last step before the line is written: no key survives in the message, extras or traceback.
        text = redact_secrets(super().format(record))
        last.record, last.text = record, text
        return text

    def jsonify_log_record(self, log_record: dict[str, Any]) -> str:
        try:
            return str(super().jsonify_log_record(log_record))
        except TypeError:  # what orjson cannot encode (an int beyond 64 bits, a non-string key): json can
            return json.dumps(log_record, default=str, ensure_ascii=False)

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_record, record, message_dict)
        for key in ("request_id", "org", "key_id"):
            if log_record.get(key) is None:
                log_record.pop(key, None)


# --- Dependency outages: one line when a dependency goes down and one when it is back, per process ---
# During an outage every request fails the same way; a traceback per request once flooded the log and
# rotation wiped the lines that explained the start of the incident within a minute.
outage_log = logging.getLogger("beacon.outage")


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
        outage_log.error(
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
        outage_log.warning(
            "%s available again",
            self.dependency,
            extra={"dependency": self.dependency, "state": "up", "down_seconds": round(seconds, 1)},
        )


# One per dependency, per process.
database_outage = Outage("database")
cache_outage = Outage("cache")
store_outage = Outage("time-series store")


def logging_config(
    *, log_dir: Path, level: str, console_level: str, max_bytes: int, backup_count: int
) -> dict[str, Any]:
    """settings.LOGGING: JSON lines to stdout (at `console_level`) and to a size-rotated `log_dir/portal.log`."""
    json_handler = {"formatter": "json", "filters": ["request_context"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "portal.logging.RequestContextFilter"}},
        "formatters": {"json": {"()": "portal.logging.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "level": console_level,
                **json_handler,
            },
            "file": {
                "class": "logging.handlers.RotatingFileHandler",
                "filename": str(log_dir / "portal.log"),
                "maxBytes": max_bytes,
                "backupCount": backup_count,
                "encoding": "utf-8",
                **json_handler,
            },
        },
        "root": {"handlers": ["stdout", "file"], "level": level},
        "loggers": {
            # Our access log replaces Django's per-request 4xx/5xx warnings.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
        },
    }
