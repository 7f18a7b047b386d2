"""Real processes for the plugin tests: the portal under gunicorn (on the test database), a tiny loopback target
whose latency the test sets, and Locust itself (headless; standalone or --processes N) with the plugin."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.servers import stop_process, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
LOCUST = ROOT / ".venv" / "bin" / "locust"
CLIENT = ROOT / "clients" / "python"

LOCUSTFILE = """
import beacon_client.locust  # noqa: F401 - the plugin: --beacon-url/--beacon-key/... and the reporting
from locust import HttpUser, constant, task


class Shopper(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def index(self):
        self.client.get("/")

    @task(1)
    def item(self):
        self.client.get("/item/7", name="/item/[id]")

    @task(1)
    def broken(self):
        if self.environment.parsed_options.fail_some:
            self.client.get("/broken")


from locust import events


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--fail-some", action="store_true", default=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Target:
    """What Locust loads: 200 after `delay` seconds on any path, 500 on /broken."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.hits = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                target.hits += 1
                if target.delay:
                    time.sleep(target.delay)
                status = 500 if self.path.startswith("/broken") else 200
                body = b"ok\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class LocustResult:
    code: int
    stdout: str
    stderr: str

    def json_stats(self) -> list[dict[str, Any]]:
        """Locust's own final `--json` output (the last JSON list on stdout)."""
        start = self.stdout.rfind("\n[")
        text = self.stdout[start + 1 :] if start >= 0 else self.stdout
        decoded, _ = json.JSONDecoder().raw_decode(text)
        return list(decoded)


def locust_command(
    locustfile: Path, target: str, portal: str, key: str, *extra: str, run_time: str = "4s"
) -> list[str]:
    return [
        str(LOCUST),
        "-f",
        str(locustfile),
        "--headless",
        "-u",
        "4",
        "-r",
        "4",
        "-t",
        run_time,
        "--host",
        target,
        "--json",
        "--beacon-url",
        portal,
        "--beacon-key",
        key,
        "--beacon-interval",
        "1",
        *master_ports(),
        *extra,
    ]


def master_ports() -> list[str]:
    """A free master port per run: --processes workers connect to it (the default 5557 may be taken)."""
    port = str(free_port())
    return ["--master-bind-port", port, "--master-port", port]


def locust_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DJANGO_", "PYTEST", "LOCUST_"))}
    env["PYTHONPATH"] = str(CLIENT)
    return env


def run_locust(command: list[str], timeout: float = 90) -> LocustResult:
    # Its own session, so a run that hangs is killed with its forked workers.
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=locust_env(),
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of this run only (its own process group)
        proc.wait()
    return LocustResult(proc.returncode, stdout, stderr)


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


@pytest.fixture
def locustfile(tmp_path: Path) -> Path:
    path = tmp_path / "shop.py"
    path.write_text(LOCUSTFILE)
    return path


@pytest.fixture
def portal(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[str]:
    """gunicorn serving the portal on the test database (what the test process reads and writes, committed)."""
    assert LOCUST.exists(), f"{LOCUST} is missing: run `make venv` (locust is in requirements/dev.in)"
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs the Postgres test database (gunicorn runs in another process)")
    user = db.get("USER") or "postgres"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}",
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "LOG_DIR": str(tmp_path),
        "TIMESERIES_BACKEND": "sql",
        "PUBLIC_URL": url,
        "API_KEY_DEFAULT_RATE": "100000/m",
    }
    env.pop("CACHE_URL", None)
    env.pop("REDIS_URL", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "portal.wsgi:application",
                "-w",
                "1",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_for_health(url, proc, log_path)
            yield url
        finally:
            stop_process(proc)
