"""Production settings pass `check --deploy`; bad configuration stops the process with a clear message."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, env_secret

ROOT = Path(__file__).resolve().parents[2]


def _manage(env_overrides: dict[str, str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "API_KEY_PEPPER"}}
    env.update({"LOG_DIR": str(tmp_path / "logs"), "BEACON_VAR_DIR": str(tmp_path / "var")})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _production_env() -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "API_KEY_PEPPER": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "beacon.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/beacon"),
        "REDIS_URL": "redis://127.0.0.1:6379/5",
    }


def test_check_deploy_has_no_issues_in_production(tmp_path):
    result = _manage(_production_env(), "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the four checks that look for sessions/CSRF/auth/messages by name in MIDDLEWARE are silenced: they
    # run inside portal.middleware.BrowserMiddleware, whose own check (portal.E001) stands in for them.
    assert "System check identified no issues (4 silenced)." in result.stdout
    shown = _manage(
        _production_env(),
        "shell",
        "-c",
        "from django.conf import settings; print(sorted(settings.SILENCED_SYSTEM_CHECKS))",
        tmp_path=tmp_path,
    )
    assert shown.stdout.strip().splitlines()[-1] == "['admin.E408', 'admin.E409', 'admin.E410', 'security.W003']", (
        shown.stdout + shown.stderr
    )


def test_refuses_default_secret_when_debug_off(tmp_path):
    env = _production_env()
    del env["SECRET_KEY"]
    result = _manage(env, "check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG=0" in result.stderr


def test_refuses_missing_pepper_when_debug_off(tmp_path):
    env = _production_env()
    del env["API_KEY_PEPPER"]
    result = _manage(env, "check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "API_KEY_PEPPER (or API_KEY_PEPPER_FILE) must be set when DEBUG=0" in result.stderr


def test_bad_boolean_stops_start_up(tmp_path):
    env = _production_env()
    env["DEBUG"] = "maybe"
    result = _manage(env, "check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.parametrize("raw", ["maybe", "2", "tru"])
def test_env_bool_rejects(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match=f"X_FLAG='{raw}' is not a boolean"):
        env_bool("X_FLAG", False)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False), ("", False)])
def test_env_bool_accepts(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", not expected) is expected


def test_env_int(monkeypatch):
    monkeypatch.setenv("X_INT", "12x")
    with pytest.raises(ImproperlyConfigured, match="X_INT='12x' is not an integer"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfigured, match="X_INT=-1 is below the minimum of 0"):
        env_int("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_INT", " 42 ")
    assert env_int("X_INT", 1) == 42
    monkeypatch.delenv("X_INT")
    assert env_int("X_INT", 7) == 7


def test_env_secret_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert env_secret("X_SECRET") == "s3cret"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match=r"X_SECRET_FILE=.* cannot be read"):
        env_secret("X_SECRET")
