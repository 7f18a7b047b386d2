"""docker/deploy.sh against a temporary prefix with --no-systemctl: every step, idempotence, the units it
installs pass `systemd-analyze verify`, and the first failing step stops it naming the fix."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import require_server

ROOT = Path(__file__).resolve().parents[2]
PG = "postgres://postgres@127.0.0.1:5432"
STEPS = [
    r"\[1/11\] Python >= 3.11 \(python3\) \.\.\. ok",
    r"\[2/11\] Environment file .*portal.env \.\.\. ok",
    r"\[3/11\] Service user beacon \.\.\. skipped \(not root or --no-systemctl: runs as \w+\)",
    r"\[4/11\] Code into .*/opt \.\.\. ok",
    r"\[5/11\] Virtualenv .*/opt/\.venv \(locked requirements\) \.\.\. ok",
    r"\[6/11\] Configuration \(manage.py check --deploy\) \.\.\. ok",
    r"\[7/11\] Migrations \(manage.py migrate\) \.\.\. ok",
    r"\[8/11\] Beat schedules \(manage.py setup_periodic_tasks\) \.\.\. ok",
    r"\[9/11\] Static files \(manage.py collectstatic\) \.\.\. ok",
    r"\[10/11\] systemd units into .*/systemd \.\.\. ok",
    r"\[11/11\] Restart the units \.\.\. skipped \(--no-systemctl\)",
]


def _postgres_up() -> bool:
    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


class FirstDeploy:
    """deploy.sh's first run on a fresh prefix and database, in a thread: `tests/conftest.py` starts it as soon as
    the session's tests are collected, so its fresh virtualenv (tens of seconds of pip) overlaps the tests before
    this module's instead of adding to the run. Niced: it takes the CPU those tests leave idle."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="beacon-deploy-"))
        self.database = ""
        self.result: subprocess.CompletedProcess[str] | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="first-deploy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if not _postgres_up():
                return  # the test fails (CI) or skips through require_server
            name = f"beacon_deploy_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.database = f"{PG}/{name}"
            self.result = _deploy(self.dir, _env_file(self.dir, self.database), nice=True)
        except BaseException as exc:  # re-raised in the test
            self.error = exc

    def wait(self) -> subprocess.CompletedProcess[str]:
        self._thread.join(timeout=900)
        if self.error is not None:
            raise self.error
        require_server(self.database != "", "PostgreSQL not running on 127.0.0.1:5432")
        assert self.result is not None, "the first deploy did not finish within 15 minutes"
        return self.result

    def close(self) -> None:
        self._thread.join(timeout=900)
        if self.database:
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database.rsplit("/", 1)[1]}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)


_started: list[FirstDeploy] = []


def start_first_deploy() -> None:
    """Called once collection has selected the test below (tests/conftest.py)."""
    if not _started:
        _started.append(FirstDeploy())


def close_first_deploy() -> None:
    """Drop what a started first deploy left (the fixture's teardown, or the session's end if it never ran)."""
    while _started:
        _started.pop().close()


@pytest.fixture
def first_deploy() -> Iterator[FirstDeploy]:
    start_first_deploy()  # a no-op when collection started it
    yield _started[0]
    close_first_deploy()


def _env_file(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "portal.env"
    path.write_text(
        "DEBUG=0\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"API_KEY_PEPPER={secrets.token_urlsafe(32)}\n"
        "ALLOWED_HOSTS=beacon.example.com\n"
        f"DATABASE_URL={database_url}\n"
    )
    return path


def _deploy(tmp_path: Path, env_file: Path, *, nice: bool = False) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "BEACON_PREFIX": str(tmp_path / "opt"),
        "BEACON_ENV_FILE": str(env_file),
        "BEACON_SYSTEMD_DIR": str(tmp_path / "systemd"),
    }
    command = [*(["nice", "-n", "10"] if nice else []), "bash", "docker/deploy.sh", "--no-systemctl"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _assert_steps(stdout: str) -> None:
    lines = stdout.splitlines()
    assert len(lines) == len(STEPS) + 1, stdout
    for line, pattern in zip(lines, STEPS, strict=False):
        assert re.fullmatch(pattern, line), (pattern, line)
    assert lines[-1].startswith("deploy.sh: done.")


def test_deploy_installs_migrates_and_is_idempotent(first_deploy):
    first = first_deploy.wait()
    tmp_path, database = first_deploy.dir, first_deploy.database
    env_file = tmp_path / "portal.env"
    assert first.returncode == 0, first.stdout + first.stderr
    _assert_steps(first.stdout)
    prefix = tmp_path / "opt"
    for path in ("manage.py", "gunicorn.conf.py", "portal/settings.py", "devices/apps.py", ".venv/bin/gunicorn"):
        assert (prefix / path).exists(), path
    with psycopg.connect(database) as conn:
        applied = conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
        schedules = {row[0] for row in conn.execute("SELECT name FROM django_celery_beat_periodictask")}
    assert applied > 10
    assert {"beat-heartbeat", "timeseries-retention"} <= schedules

    # The units name this prefix and env file, and systemd accepts them (executables included).
    units = sorted((tmp_path / "systemd").glob("*.service"))
    assert [u.name for u in units] == ["beacon-beat.service", "beacon-web.service", "beacon-worker.service"]
    web = (tmp_path / "systemd" / "beacon-web.service").read_text()
    assert f"ExecStart={prefix}/.venv/bin/gunicorn portal.wsgi" in web
    assert f"EnvironmentFile={env_file}" in web and "/opt/beacon" not in web
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True)
        assert (verify.returncode, verify.stderr) == (0, ""), verify.stderr

    # manage.py with the service environment, as documented.
    check = subprocess.run(
        [str(prefix / "bin" / "beacon-manage"), "healthcheck", "database"], capture_output=True, text=True, timeout=60
    )
    assert (check.returncode, check.stdout) == (0, "database: ok\n"), check.stderr

    again = _deploy(tmp_path, env_file)
    assert again.returncode == 0, again.stdout + again.stderr
    _assert_steps(again.stdout)
    log = (prefix / "var" / "deploy.log").read_text()
    assert "No migrations to apply." in log and "creating" not in log  # the venv was reused
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0] == applied


def test_deploy_stops_at_the_first_failure_with_the_fix(tmp_path):
    missing = tmp_path / "nowhere" / "portal.env"
    result = _deploy(tmp_path, missing)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "[1/11] Python >= 3.11 (python3) ... ok",
        f"[2/11] Environment file {missing} ... FAILED",
    ]
    assert (
        f"deploy.sh: step 2/11 (Environment file {missing}) failed; create it from docker/systemd/portal.env.example"
        in (result.stderr)
    )
    assert not (tmp_path / "opt" / ".venv").exists()  # nothing installed past the failure
