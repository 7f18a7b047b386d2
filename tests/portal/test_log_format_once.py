"""The JSON formatter builds a record's line once, however many handlers (and size checks) ask for it."""

from __future__ import annotations

import io
import json
import logging
import threading
from pathlib import Path

import pytest

from portal import logging as portal_logging
from portal.logging import JsonFormatter


def test_two_handlers_and_the_rollover_check_share_one_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    real = portal_logging.redact_secrets

    def counting(text: str) -> str:
        builds.append(text)
        return real(text)

    monkeypatch.setattr(portal_logging, "redact_secrets", counting)
    formatter = JsonFormatter()
    stream = io.StringIO()
    console = logging.StreamHandler(stream)
    rotating = logging.handlers.RotatingFileHandler(tmp_path / "portal.log", maxBytes=10_000, backupCount=1)
    logger = logging.getLogger("beacon.test-format-once")
    logger.propagate = False
    for handler in (console, rotating):
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    try:
        logger.warning("first %s", "event", extra={"path": "/api/v2/write"})
        logger.warning("second event bcn_0123456789abcdef_secretsecret")
    finally:
        for handler in (console, rotating):
            logger.removeHandler(handler)
            handler.close()
    assert len(builds) == 2  # one per record, not three (stdout, shouldRollover, file)
    console_lines = stream.getvalue().splitlines()
    assert console_lines == (tmp_path / "portal.log").read_text().splitlines()
    first, second = (json.loads(line) for line in console_lines)
    assert first["message"] == "first event" and first["path"] == "/api/v2/write"
    assert second["message"].startswith("second event") and "secretsecret" not in second["message"]


def test_threads_do_not_see_each_others_lines() -> None:
    formatter = JsonFormatter()
    seen: dict[str, list[str]] = {}

    def work(name: str) -> None:
        lines = []
        for i in range(200):
            record = logging.LogRecord(name, logging.INFO, __file__, 1, f"{name} {i}", None, None)
            lines.append(json.loads(formatter.format(record))["message"])
            lines.append(json.loads(formatter.format(record))["message"])
        seen[name] = lines

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, lines in seen.items():
        assert lines == [f"{name} {i}" for i in range(200) for _ in range(2)]
