"""JSON access log lines: parseable, with request context, never a key secret."""

from __future__ import annotations

import json
import logging
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
