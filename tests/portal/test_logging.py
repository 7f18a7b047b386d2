"""JSON access log lines: parseable, with request context, never a key secret."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from django.conf import settings

from accounts import keys
from portal.logging import JsonFormatter, RequestContextFilter, request_id_var


def _log_path() -> Path:
    return Path(settings.LOG_DIR) / "portal.log"


def test_access_log_line_is_json_with_context_and_no_secret(org, issue_key, client_for, caplog):
    plaintext = issue_key(org, ["metrics:read"])
    parsed = keys.parse(plaintext)
    assert parsed is not None
    start = _log_path().stat().st_size if _log_path().exists() else 0
    caplog.set_level(logging.INFO)

    ok = client_for(plaintext).get("/api/v1/devices/", HTTP_X_REQUEST_ID="req-ok-1")
    bad = client_for(f"bcn_{parsed.key_id}_{'x' * 40}").get("/api/v1/devices/", HTTP_X_REQUEST_ID="req-bad-1")
    assert (ok.status_code, bad.status_code) == (200, 401)

    with _log_path().open("rb") as fh:
        fh.seek(start)
        text = fh.read().decode()
    records = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line parses
    access = {r["request_id"]: r for r in records if r.get("logger") == "beacon.access"}
    assert access["req-ok-1"]["org"] == org.slug
    assert access["req-ok-1"]["key_id"] == parsed.key_id
    assert access["req-ok-1"]["status"] == 200
    assert access["req-ok-1"]["path"] == "/api/v1/devices/"
    assert access["req-ok-1"]["level"] == "INFO"
    assert isinstance(access["req-ok-1"]["duration_ms"], float | int)
    assert "time" in access["req-ok-1"]
    assert access["req-bad-1"]["status"] == 401
    assert "key_id" not in access["req-bad-1"]
    assert parsed.secret not in text
    assert parsed.secret not in caplog.text


def test_formatter_emits_one_json_object_with_request_id():
    record = logging.LogRecord("beacon.test", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("abc")
    try:
        RequestContextFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "\n" not in line
    assert data["message"] == "hello world"
    assert (data["level"], data["logger"], data["request_id"]) == ("WARNING", "beacon.test", "abc")
    assert "org" not in data and "key_id" not in data


def test_formatter_writes_what_orjson_cannot_encode():
    record = logging.LogRecord("beacon.test", logging.INFO, __file__, 1, "big", (), None)
    record.value = 2**70  # beyond orjson's 64-bit integers
    record.by_id = {1: "a"}  # a non-string key
    data = json.loads(JsonFormatter().format(record))
    assert (data["message"], data["value"], data["by_id"]) == ("big", 2**70, {"1": "a"})


def test_records_still_carry_what_gunicorn_and_celery_formats_print():
    """portal.logging changes no record attribute: gunicorn's `[%(process)d]` failed once on a None."""
    import gunicorn.glogging

    record = logging.getLogger("beacon.test").makeRecord("beacon.test", logging.ERROR, "x.py", 1, "m", (), None)
    line = logging.Formatter(gunicorn.glogging.CONFIG_DEFAULTS["formatters"]["generic"]["format"]).format(record)
    assert f"[{os.getpid()}] [ERROR] m" in line
    assert logging.Formatter("%(processName)s %(threadName)s %(thread)d").format(record).startswith("MainProcess ")
    logger = logging.getLogger("beacon.test.caller")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign,assignment]
    logger.addHandler(handler)
    try:
        logger.warning("where")  # the caller lookup (pytest's and Django's formats print file:line) still runs
    finally:
        logger.removeHandler(handler)
    assert (seen[0].filename, seen[0].funcName) == (
        "test_logging.py",
        "test_records_still_carry_what_gunicorn_and_celery_formats_print",
    )


SECRET = "S3cr3t-" + "k" * 30
KEY_ID = "0123456789abcdef"


def test_redact_secrets_keeps_the_key_id_and_drops_the_secret():
    from portal.logging import redact_secrets

    assert redact_secrets(f'"GET /admin/devices/apikey/?q=bcn_{KEY_ID}_{SECRET}&o=1 HTTP/1.1" 302') == (
        f'"GET /admin/devices/apikey/?q=bcn_{KEY_ID}_[redacted]&o=1 HTTP/1.1" 302'
    )
    # URL-encoded inside a login redirect's next=, and a malformed key without an id.
    assert redact_secrets(f"next=/admin/%3Fq%3Dbcn%5F{KEY_ID}%5F{SECRET}") == (
        f"next=/admin/%3Fq%3Dbcn_{KEY_ID}_[redacted]"
    )
    assert redact_secrets(f"token=BCN_{SECRET} done") == "token=bcn_[redacted] done"
    assert redact_secrets("no key here") == "no key here"


def test_no_log_line_carries_a_key_in_message_extra_or_traceback():
    start = _log_path().stat().st_size if _log_path().exists() else 0
    logger = logging.getLogger("beacon.test.redact")
    key = f"bcn_{KEY_ID}_{SECRET}"
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        logger.exception("refused %s", key, extra={"query": f"q={key}"})

    with _log_path().open("rb") as fh:
        fh.seek(start)
        text = fh.read().decode()
    record = json.loads(text.splitlines()[-1])
    assert record["message"] == f"refused bcn_{KEY_ID}_[redacted]"
    assert record["query"] == f"q=bcn_{KEY_ID}_[redacted]"
    assert f"bad key bcn_{KEY_ID}_[redacted]" in record["exc_info"]
    assert SECRET not in text
