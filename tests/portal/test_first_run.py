"""The traps a new user met on a first run, each reproduced: Python version, busy port, config errors,
manage.py outside the demo, the demo banner scrolling away."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SECRETS = {"SECRET_KEY", "SECRET_KEY_FILE", "API_KEY_PEPPER", "API_KEY_PEPPER_FILE", "DEBUG"}


def _clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SECRETS | {"DATABASE_URL", "MAKEFLAGS", "MAKELEVEL"}}
    env.update({"LOG_DIR": str(tmp_path / "logs"), "BEACON_VAR_DIR": str(tmp_path / "var")})
    env.update(overrides)
    return env


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- 1. Python version -------------------------------------------------------------------------


def _python310() -> str | None:
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10.*/bin/python3")))
    return found[-1] if found else shutil.which("python3.10")


def _check_python(python: str, venv: Path, explicit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "scripts/check_python.sh", python, str(venv), explicit],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_310_venv_is_detected_and_removed_for_a_rebuild(tmp_path):
    venv = tmp_path / "venv"
    python310 = _python310()
    if python310:
        subprocess.run([python310, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    else:  # what a 3.10 venv looks like to the check: its pyvenv.cfg and an interpreter that runs
        (venv / "bin").mkdir(parents=True)
        (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.10.13\n")
        (venv / "bin" / "python").symlink_to(sys.executable)
    assert "3.10" in (venv / "pyvenv.cfg").read_text()
    result = _check_python(sys.executable, venv, "1" if not python310 else "0")
    assert result.returncode == 0, result.stderr
    line = _one_line(result.stderr)
    assert f"was made by Python 3.10, PYTHON={sys.executable} is 3.{sys.version_info.minor}" in line
    assert not venv.exists()  # `make venv` then builds it afresh


def test_a_good_venv_is_kept(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    result = _check_python("python3", venv, "0")
    assert (result.returncode, result.stderr) == (0, "")
    assert (venv / "pyvenv.cfg").exists()


def test_python_310_is_refused_in_one_line(tmp_path):
    python310 = _python310()
    if not python310:
        pytest.skip("no Python 3.10 interpreter (pyenv or python3.10)")
    result = _check_python(python310, tmp_path / "venv", "1")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith("make: Beacon needs Python >= 3.11 but PYTHON=") and "is 3.10" in line
    assert "make venv PYTHON=python3.11" in line


def test_missing_python_is_named(tmp_path):
    result = _check_python("python3.99-nowhere", tmp_path / "venv", "1")
    assert result.returncode == 1
    assert "PYTHON=python3.99-nowhere not found" in _one_line(result.stderr)


def test_a_python_on_path_that_does_not_run_is_named(tmp_path):
    # What a pyenv shim of an installed but unselected version does: found on PATH, fails when run.
    shim = tmp_path / "python3.9"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.9: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    result = _check_python(str(shim), tmp_path / "venv", "1")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert f"PYTHON={shim} is on PATH but does not run" in line and "make venv PYTHON=python3.11" in line


def test_make_venv_runs_the_check_first(tmp_path):
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "venv"],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert dry.stdout.splitlines()[0].startswith('scripts/check_python.sh "python3" ".venv" 0')


# --- 2. Busy port --------------------------------------------------------------------------------


def test_make_demo_with_the_port_taken_stops_before_anything(tmp_path):
    venv = tmp_path / "never-built"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["make", "demo", f"PORT={port}", f"VENV={venv}"],
            cwd=ROOT,
            env=_clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"make demo: port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "pick another: make demo PORT=" in result.stderr
    assert "Beacon is running" not in result.stdout
    assert "Applying migrations" not in result.stdout
    assert not venv.exists()  # nothing was built


def test_port_check_suggests_a_free_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]  # bound, not even listening: gunicorn could not bind it either
        taken = subprocess.run(
            [sys.executable, "scripts/check_port.py", "127.0.0.1", str(port)], cwd=ROOT, capture_output=True, text=True
        )
    assert taken.returncode == 1
    suggested = int(taken.stderr.rsplit("PORT=", 1)[1])
    assert suggested > port
    free = subprocess.run([sys.executable, "scripts/check_port.py", "127.0.0.1", str(port)], cwd=ROOT)
    assert free.returncode == 0


# --- 3. Configuration errors: one line naming the variable and the fix ---------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql//foo", "DATABASE_URL='mysql//foo' is not a URL (no '://')"),
        ("mysql://u:pw@db/beacon", "DATABASE_URL scheme 'mysql' is not supported (PostgreSQL or SQLite only)"),
        ("postgres://u:pw@db:notaport/beacon", "DATABASE_URL='postgres://u:***@db:notaport/beacon' cannot be parsed"),
    ],
)
def test_bad_database_url_is_one_line(tmp_path, url, expected):
    result = _manage(tmp_path, "migrate", DEBUG="1", DATABASE_URL=url)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("beacon: configuration error: ")
    assert expected in line
    assert "use postgres://USER:PASSWORD@HOST:5432/NAME" in line
    assert "pw" not in line  # the password is never echoed


def test_bad_redis_url_is_one_line(tmp_path):
    result = _manage(tmp_path, "check", DEBUG="1", REDIS_URL="localhost:6379")
    assert result.returncode == 2
    assert "REDIS_URL='localhost:6379' must start with redis://" in _one_line(result.stderr)


def test_closed_database_port_at_migrate_is_one_line(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgres://postgres:pw@127.0.0.1:{port}/beacon"
    result = _manage(tmp_path, "migrate", "--noinput", DEBUG="1", DATABASE_URL=url)
    assert result.returncode == 3
    line = _one_line(result.stderr)
    assert line.startswith(f"beacon: cannot connect to the database of DATABASE_URL (postgres@127.0.0.1:{port}/beacon)")
    assert "Connection refused" in line
    assert "start PostgreSQL there or fix DATABASE_URL" in line


def test_missing_database_names_createdb(tmp_path):
    url = "postgres://postgres@127.0.0.1:5432/beacon_surely_missing_db"
    result = _manage(tmp_path, "migrate", "--noinput", DEBUG="1", DATABASE_URL=url)
    if "Connection refused" in result.stderr:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    assert result.returncode == 3
    assert "create it (createdb -h 127.0.0.1 -U postgres beacon_surely_missing_db)" in _one_line(result.stderr)


# --- 4. manage.py as documented -----------------------------------------------------------------


def test_missing_secret_key_says_what_to_set(tmp_path):
    result = _manage(tmp_path, "createsuperuser", "--help", DEBUG="0")
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG=0" in line
    assert "For development set DEBUG=1" in line and "make manage ARGS=" in line


def test_make_manage_runs_commands_without_debug_in_the_environment(tmp_path):
    result = subprocess.run(
        ["make", "-s", "manage", "ARGS=issuekey --help"],
        cwd=ROOT,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: manage.py issuekey" in result.stdout


# --- 5. The demo banner stays visible ------------------------------------------------------------


def test_console_level_keeps_access_lines_in_the_file_only(tmp_path):
    code = (
        "import logging; logging.getLogger('beacon.access').info('GET /api/v1/status 200');"
        "logging.getLogger('beacon.access').warning('portal warning')"
    )
    result = _manage(tmp_path, "shell", "-c", code, DEBUG="1", LOG_CONSOLE_LEVEL="WARNING")
    assert result.returncode == 0, result.stderr
    console = [json.loads(line)["message"] for line in result.stdout.splitlines() if line.startswith("{")]
    assert console == ["portal warning"]
    logged = [json.loads(line)["message"] for line in (tmp_path / "logs" / "portal.log").read_text().splitlines()]
    assert logged[-2:] == ["GET /api/v1/status 200", "portal warning"]


def test_demo_script_sets_the_console_level_and_writes_its_env():
    script = (ROOT / "scripts" / "demo.sh").read_text()
    assert "export LOG_CONSOLE_LEVEL=${LOG_CONSOLE_LEVEL:-WARNING}" in script
    assert "> var/demo.env" in script
