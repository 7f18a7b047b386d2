"""A live Beacon portal (gunicorn on loopback, its own Postgres database) and the agent as a process.

No Django import here: the test process talks to the portal over HTTP and runs Django
only in subprocesses (`manage.py migrate`, `manage.py shell`), so the portal under test
uses a real, committed database that gunicorn can see, and tests/agent stays importable
without Django. Also used by bench/agent.py.
"""

from __future__ import annotations

import gzip
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def portal_root() -> Path:
    # BEACON_TEST_PORTAL_DIR lets the agent tests run against another checkout of the portal.
    return Path(os.environ.get("BEACON_TEST_PORTAL_DIR") or REPO)


def write_endpoint_missing(root: Path | None = None) -> str | None:
    """Why the portal cannot take agent writes, or None when it can."""
    root = root or portal_root()
    urls = root / "portal" / "urls.py"
    if not urls.exists() or "api/v2/write" not in urls.read_text():
        return f"the portal at {root} has no POST /api/v2/write yet (the ingest change is not merged)"
    if not (root / ".venv" / "bin" / "gunicorn").exists():
        return f"{root}/.venv/bin/gunicorn is missing (run `make venv`)"
    return None


def postgres_available() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return True
    except OSError:
        return False


# Django snippets run with `manage.py shell -c`; they print one JSON line.
_SETUP_TENANT = """
import json, sys
from accounts import services as accounts
from devices import services
org = accounts.organization_create(name=ARGS["org"])
device = services.device_create(organization=org, name=ARGS["device"])
write = accounts.api_key_issue(organization=org, name="agent", scopes=["metrics:write"], device=device,
                               rate_limit=ARGS["rate_limit"])
read = accounts.api_key_issue(organization=org, name="reader", scopes=["metrics:read"])
print(json.dumps({"org_id": org.id, "write_key": write.plaintext, "read_key": read.plaintext}))
"""

_QUERY = """
import json
from datetime import datetime, timezone
from timeseries import get_store
rows = get_store().query(tenant=str(ARGS["org_id"]), measurement=ARGS["measurement"], fields=ARGS["fields"],
                         start=datetime(2000, 1, 1, tzinfo=timezone.utc), end=datetime(2100, 1, 1, tzinfo=timezone.utc),
                         tags=ARGS["tags"])
print(json.dumps([{"field": r.field, "tags": r.tags, "points": r.points} for r in rows]))
"""


@dataclass
class Tenant:
    org_id: int
    device: str
    write_key: str
    read_key: str


@dataclass
class Portal:
    root: Path
    database: str
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DJANGO_", "PYTEST"))}
        env.update(
            DEBUG="1",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{self.database}",
            LOG_DIR=str(self.workdir / "logs"),
            BEACON_VAR_DIR=str(self.workdir / "var"),
            DJANGO_SETTINGS_MODULE="portal.settings",
            TIMESERIES_BACKEND="sql",
            API_KEY_DEFAULT_RATE="100000/m",  # only the rate-limit test wants a small budget
            RATELIMIT_ANONYMOUS_RATE="100000/m",  # failed-auth tests share 127.0.0.1's anonymous budget
            PYTHONPATH=str(self.root),
        )
        env.pop("REDIS_URL", None)
        env.pop("CACHE_URL", None)  # one worker: its local-memory cache is the shared counter
        env.update(self.extra_env)
        return env

    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    def prepare(self) -> None:
        """A fresh database, migrated."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for cmd in (["dropdb", "--if-exists", "--force"], ["createdb"]):
            subprocess.run([*cmd, "-h", "127.0.0.1", "-U", "postgres", self.database], check=True, timeout=60)
        self.manage("migrate", "--noinput")

    def drop_database(self) -> None:
        """Remove the session's database, so repeated CI runs leave nothing behind."""
        subprocess.run(
            ["dropdb", "--if-exists", "--force", "-h", "127.0.0.1", "-U", "postgres", self.database],
            check=False,
            timeout=60,
        )

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [self.python(), "manage.py", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args[:1])} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        return out.stdout

    def django(self, snippet: str, **args: Any) -> Any:
        code = f"ARGS = {json.dumps(args)}\n" + snippet
        output = self.manage("shell", "-c", code)
        return json.loads(output.strip().splitlines()[-1])

    def tenant(self, name: str, device: str = "edge-01", rate_limit: str = "") -> Tenant:
        data = self.django(_SETUP_TENANT, org=name, device=device, rate_limit=rate_limit)
        return Tenant(data["org_id"], device, data["write_key"], data["read_key"])

    def series(self, tenant: Tenant, measurement: str, fields: list[str], **tags: str) -> dict[str, list[Any]]:
        """Stored raw points: {field: [(time_ns, value), ...]} (several tag sets merged, time-ordered)."""
        rows = self.django(
            _QUERY, org_id=tenant.org_id, measurement=measurement, fields=fields, tags={"device": tenant.device, **tags}
        )
        out: dict[str, list[Any]] = {f: [] for f in fields}
        for row in rows:
            out[row["field"]].extend(tuple(p) for p in row["points"])
        return {k: sorted(v) for k, v in out.items()}

    def start(self) -> None:
        log = open(self.workdir / f"gunicorn-{self.port}.log", "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [
                str(self.root / ".venv" / "bin" / "gunicorn"),
                "portal.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "1",
                "--threads",
                "4",
                "--graceful-timeout",
                "2",
                "--log-level",
                "warning",
            ],
            cwd=self.root,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the portal did not answer /health within 60 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@dataclass
class Exchange:
    """One write request as the portal saw it, in arrival order."""

    at: float  # monotonic, when the request arrived
    status: int  # 0 = the portal was unreachable (the agent got its connection closed)
    lines: list[str]
    retry_after: str | None


class RecordingProxy:
    """Loopback pass-through in front of the portal that records every write and its answer.

    The store overwrites a point written twice (same series and time), so duplicates cannot be
    seen in it; this proxy shows exactly what the agent sent, in order, and what came back.
    When the portal is down it drops the agent's connection without an answer, as a dead
    portal would (the agent sees a network error, not an HTTP status).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.exchanges: list[Exchange] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                arrived = time.monotonic()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                    conn.request(method, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    status, resp_headers = resp.status, resp.getheaders()
                    conn.close()
                except OSError:
                    proxy._record(self.path, arrived, 0, body, self.headers, None)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                retry_after = dict((k.lower(), v) for k, v in resp_headers).get("retry-after")
                proxy._record(self.path, arrived, status, body, self.headers, retry_after)
                self.send_response(status)
                for key, value in resp_headers:
                    if key.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self._forward("POST")

            def do_GET(self) -> None:
                self._forward("GET")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _record(self, path: str, at: float, status: int, body: bytes, headers: Any, retry_after: str | None) -> None:
        if not path.startswith("/api/v2/write"):
            return
        if headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = [line for line in body.decode().split("\n") if line]
        with self.lock:
            self.exchanges.append(Exchange(at, status, lines, retry_after))

    def stored_lines(self) -> list[str]:
        with self.lock:
            return [line for ex in self.exchanges if ex.status == 204 for line in ex.lines]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class AgentProcess:
    """`python -m beacon_agent <mode>` configured by environment only, as under systemd."""

    def __init__(self, workdir: Path, url: str, key: str, device: str, **settings: Any) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.log_path = workdir / "agent.log"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(AGENT_DIR)}
        env.update(
            BEACON_URL=url,
            BEACON_API_KEY=key,
            BEACON_DEVICE=device,
            BEACON_STATE_DIR=str(self.state_dir),
            BEACON_CONFIG="none",
            BEACON_LOG_LEVEL="info",
        )
        workdir.mkdir(parents=True, exist_ok=True)
        for key_name, value in settings.items():
            if isinstance(value, (list, tuple)):
                value = ",".join(value)
            env[f"BEACON_{key_name.upper()}"] = str(value)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        # Which Python runs the agent (test_python39.py sets e.g. [python3.9, "-S"]).
        self.interpreter: list[str] = [sys.executable]

    def command(self, mode: str) -> list[str]:
        return [*self.interpreter, "-m", "beacon_agent", mode]

    def start(self, mode: str = "run") -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(self.command(mode), env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def run(self, mode: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(mode), env=self.env, capture_output=True, text=True, timeout=timeout)

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, str], int]:
    """Split one line the agent wrote (its values never contain escaped spaces or commas)."""
    head, fields, ts = line.rsplit(" ", 2)
    measurement, *tag_parts = head.split(",")
    tags = dict(part.split("=", 1) for part in tag_parts)
    values = dict(part.split("=", 1) for part in fields.split(","))
    return measurement, tags, values, int(ts)


def wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
