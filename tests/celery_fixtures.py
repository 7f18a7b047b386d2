"""Pytest plugin (registered in tests/conftest.py): real Celery worker and beat processes for task tests.

The processes run `celery -A portal worker|beat` against pytest-django's test database (test_<name>,
which only exists while a transactional test runs: use `transactional_db` / `django_db(transaction=True)`,
since a plain `db` test's rows sit in a transaction other processes cannot see).

- `redis_broker` (function): Redis db 13 on 127.0.0.1:6379 under a key prefix of this test's own (other
  checkouts' suites may share the db at the same time), its keys deleted afterwards (fails under CI=true
  when Redis is down, skips otherwise). Processes get it through tests/celery_settings.py.
- `filesystem_broker` (function): kombu's filesystem transport in a temp var dir (what the demo runs).
- `celery_broker` (function, parametrised "redis" | "filesystem"): one of the two; a test using it runs twice.
- `celery_producer` (function): points this test process's Celery app (task.delay, apply_async) and
  settings (/health/ready's broker check) at `celery_broker`, restored afterwards.
- `start_celery` (function): factory `start_celery("worker" | "beat", broker, env={...}) -> CeleryProcess`,
  waits until the process is up; `start_celery.all(["worker", "beat"], broker, env={...})` starts several and
  waits for them together. Every process started is killed at teardown.
- `celery_worker`, `celery_beat` (function): a worker / a beat (ticking every second) on `celery_broker`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from portal.broker import filesystem_transport_options
from tests.servers import stop_process

ROOT = Path(__file__).resolve().parents[1]
CELERY = ROOT / ".venv" / "bin" / "celery"
REDIS_BROKER_DB = 13  # this suite's Redis db; each test works under its own key prefix in it
WARM_SHUTDOWN_SECONDS = 20  # then SIGKILL
_READY = {"worker": re.compile(r"celery@\S+ ready"), "beat": re.compile(r"beat: Starting")}


@dataclass
class Broker:
    kind: str
    url: str
    transport_options: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)  # what a worker/beat process needs to reach it


@dataclass
class CeleryProcess:
    role: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str | re.Pattern[str], timeout: float = 60.0) -> re.Match[str]:
        """Wait until the process's log matches `pattern`; fail with the log's tail otherwise."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.log())
            if match:
                return match
            if self.process.poll() is not None:
                pytest.fail(f"celery {self.role} exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"celery {self.role} log never matched {regex.pattern!r}:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def stop(self, timeout: float = WARM_SHUTDOWN_SECONDS) -> None:
        stop_process(self.process, timeout=timeout)  # warm: the worker finishes (and acks) its current task

    def kill(self) -> None:
        """SIGKILL the process and its pool children (its own process group): for when the test is done with it."""
        if self.process.returncode is not None:
            return  # reaped already: its group id may belong to another process by now
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_broker() -> Iterator[Broker]:
    import redis

    from tests.conftest import require_server

    require_server(_redis_up(), "Redis is not running on 127.0.0.1:6379")
    url = f"redis://127.0.0.1:6379/{REDIS_BROKER_DB}"
    prefix = f"beacon-test-{uuid.uuid4().hex[:12]}:"
    options = {"visibility_timeout": 3600, "global_keyprefix": prefix}
    yield Broker(
        "redis",
        url,
        options,
        {
            "CELERY_BROKER_URL": url,
            "BEACON_TEST_BROKER_KEYPREFIX": prefix,
            "DJANGO_SETTINGS_MODULE": "tests.celery_settings",
        },
    )
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


@pytest.fixture
def filesystem_broker(tmp_path: Path) -> Broker:
    var_dir = tmp_path / "broker-var"
    options: dict[str, Any] = filesystem_transport_options(var_dir)
    # The settings derive the same folders from BEACON_VAR_DIR when CELERY_BROKER_URL is unset.
    return Broker("filesystem", "filesystem://localhost/", options, {"BEACON_VAR_DIR": str(var_dir)})


@pytest.fixture(params=["redis", "filesystem"])
def celery_broker(request: pytest.FixtureRequest) -> Broker:
    return request.getfixturevalue(f"{request.param}_broker")  # type: ignore[no-any-return]


@pytest.fixture
def celery_producer(celery_broker: Broker, settings: Any) -> Iterator[Broker]:
    from kombu import pools

    from portal.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)

    def point_at(url: str, options: dict[str, Any]) -> None:
        app.conf.broker_url, app.conf.broker_transport_options = url, options
        # Connection and producer pools are cached (per app and in kombu's registry): rebuild for the new URL.
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    settings.CELERY_BROKER_URL = celery_broker.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker.transport_options
    point_at(celery_broker.url, celery_broker.transport_options)
    yield celery_broker
    point_at(*saved)


def _database_url(settings: Any) -> str:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs the Postgres test database (worker and beat run in other processes)")
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class CeleryStarter:
    """What `start_celery` yields: starts worker/beat processes on the test database and remembers them."""

    def __init__(self, base_env: dict[str, str], log_dir: Path) -> None:
        self.base_env, self.log_dir = base_env, log_dir
        self.started: list[CeleryProcess] = []

    def __call__(self, role: str, broker: Broker, env: dict[str, str] | None = None) -> CeleryProcess:
        return self.all([role], broker, env)[0]

    def all(self, roles: list[str], broker: Broker, env: dict[str, str] | None = None) -> list[CeleryProcess]:
        """Launch every process first, then wait until each is up: their startups (seconds of imports each on a
        busy machine) overlap instead of adding up."""
        handles = [self._launch(role, broker, env) for role in roles]
        for handle in handles:
            handle.wait_for_log(_READY[handle.role])
        return handles

    def _launch(self, role: str, broker: Broker, env: dict[str, str] | None) -> CeleryProcess:
        args = {
            "worker": ["worker", "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            "beat": ["beat", "--max-interval", "1", "--loglevel", "INFO"],
        }[role]
        log_path = self.log_dir / f"celery-{role}-{len(self.started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(CELERY), "-A", "portal", *args],
                cwd=ROOT,
                env={**self.base_env, **broker.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own: the teardown kills it with its children
            )
        handle = CeleryProcess(role, process, log_path)
        self.started.append(handle)
        return handle


@pytest.fixture
def start_celery(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[CeleryStarter]:
    base_env = {k: v for k, v in os.environ.items() if k not in {"CACHE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    base_env.update(
        {
            "DATABASE_URL": _database_url(settings),
            "DEBUG": "1",
            "LOG_LEVEL": "INFO",
            "LOG_DIR": str(tmp_path / "celery-logs"),
            "TIMESERIES_BACKEND": "sql",
        }
    )
    starter = CeleryStarter(base_env, tmp_path)
    yield starter
    # Before transactional_db flushes: no open connections left behind. The test is over, so each process is
    # killed with its pool children (its own process group) instead of shut down warm: a warm shutdown takes 3 to
    # 8 s (the consumer's 2 s drain, then the pool's and the timer's joins), which added up to a minute of the
    # suite. A killed process's connections close with it; PostgreSQL ends their sessions before the flush.
    for handle in starter.started:
        handle.kill()


@pytest.fixture
def celery_worker(start_celery: CeleryStarter, celery_broker: Broker) -> CeleryProcess:
    return start_celery("worker", celery_broker)


@pytest.fixture
def celery_beat(start_celery: CeleryStarter, celery_broker: Broker) -> CeleryProcess:
    return start_celery("beat", celery_broker)
