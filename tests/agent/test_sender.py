"""Response classification, Retry-After parsing and the stdlib-only rule."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from beacon_agent.sender import AUTH, OK, REJECTED, RETRY, TOO_LARGE, classify, parse_retry_after

from tests.agent.conftest import AGENT_DIR


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (400, REJECTED),
        (413, TOO_LARGE),
        (422, REJECTED),
        (401, AUTH),
        (403, AUTH),
        (404, AUTH),
        (408, RETRY),
        (429, RETRY),
        (500, RETRY),
        (502, RETRY),
        (503, RETRY),
    ],
)
def test_classify(status: int, outcome: str) -> None:
    assert classify(status, None, b"").outcome == outcome
    assert outcome != OK


def test_classify_reads_the_portal_error_body() -> None:
    result = classify(400, None, b'{"code": "invalid", "message": "line 3: bad field", "line": 3}')
    assert (result.outcome, result.message, result.line) == (REJECTED, "line 3: bad field", 3)
    busy = classify(503, "7", b'{"code": "unavailable", "message": "store down"}')
    assert (busy.outcome, busy.retry_after, busy.message) == (RETRY, 7.0, "store down")


def test_retry_after_forms() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_agent_imports_only_the_standard_library() -> None:
    imported = set()
    for path in Path(AGENT_DIR, "beacon_agent").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"beacon_agent", "__future__"}
    assert third_party == set()
    assert "tomllib" in imported  # used only when present (3.11+); minitoml otherwise


def test_agent_source_parses_as_python_3_9() -> None:
    # No 3.9 interpreter in CI: at least the grammar (no match, no parenthesized with-items...) is checked.
    for path in Path(AGENT_DIR, "beacon_agent").rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))
