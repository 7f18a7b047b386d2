"""Real throwaway servers for tests: InfluxDB 1.6 (Debian's influxd) behind a v2-write proxy.

InfluxDB 1.6 has no `/api/v2/write` (1.8+ has the alias), so `InfluxServer`
puts a tiny loopback proxy in front: `/api/v2/write?bucket=B&precision=P`
becomes `/write?db=B&precision=P`, every other path goes through unchanged.
The proxy keeps its port while influxd is stopped and answers 502, which a
client sees exactly like a dead server's gateway; `stop()`/`start()` reuse the
same ports and data directory to simulate an outage.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
_PRECISION = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "authorization", "content-length"}


def influxd_available() -> bool:
    return os.access(INFLUXD, os.X_OK)


def wait_for_health(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0, path: str = "/health"
) -> None:
    """Wait until `url` + `path` answers 200; fail with the end of `log` if the process dies or stalls."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} did not start: {log.read_text()[-2000:] if log.exists() else ''}")
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL if it has not exited within `timeout` seconds."""
    stop_processes([process], timeout=timeout)


def stop_processes(processes: list[subprocess.Popen[Any]], timeout: float = 15) -> None:
    """stop_process for several at once: SIGTERM to all, then SIGKILL to each still running after `timeout`
    seconds. The warm shutdowns overlap (an idle Celery worker's takes seconds)."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(data_dir: Path, http_port: int, rpc_port: int) -> str:
    return f"""
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{data_dir / "meta"}"

[data]
  dir = "{data_dir / "data"}"
  wal-dir = "{data_dir / "wal"}"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10s"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  max-body-size = 0

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    upstream_port: int


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _Proxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return

    def _forward(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path, parsed.query
        if path == "/api/v2/write":
            params = dict(urllib.parse.parse_qsl(query))
            mapped = {"db": params.get("bucket", "")}
            precision = params.get("precision", "ns")
            mapped["precision"] = _PRECISION.get(precision, precision)
            path, query = "/write", urllib.parse.urlencode(mapped)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=30)
            upstream.request(self.command, path + ("?" + query if query else ""), body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            status, reply_headers = response.status, response.getheaders()
            upstream.close()
        except OSError as exc:
            data = f'{{"error": "upstream influxd unreachable: {type(exc).__name__}"}}'.encode()
            status, reply_headers = 502, [("Content-Type", "application/json")]
        self.send_response(status)
        for key, value in reply_headers:
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_HEAD = _forward


class InfluxServer:
    """influxd on free loopback ports with a temp data dir; `url` is the v2-write proxy in front of it."""

    def __init__(self, base_dir: Path | None = None) -> None:
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="beacon-influx-"))
        self.http_port = free_port()
        self.rpc_port = free_port()
        self.config_path = self.base_dir / "influxdb.conf"
        self.config_path.write_text(_config(self.base_dir, self.http_port, self.rpc_port))
        self.log_path = self.base_dir / "influxd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._proxy = _Proxy(("127.0.0.1", 0), _ProxyHandler)
        self._proxy.upstream_port = self.http_port
        self._proxy_thread = threading.Thread(target=self._proxy.serve_forever, name="influx-proxy", daemon=True)
        self._proxy_thread.start()

    @property
    def url(self) -> str:
        """The proxy: what INFLUX_URL should point at."""
        return f"http://127.0.0.1:{self._proxy.server_address[1]}"

    @property
    def direct_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [INFLUXD, "run", "-config", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"influxd exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.direct_url + "/ping", timeout=1) as response:
                    if response.status == 204:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"influxd did not answer /ping within {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None

    def close(self) -> None:
        self.stop()
        self._proxy.shutdown()
        self._proxy.server_close()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def query(self, q: str, db: str = "") -> dict[str, object]:
        """Run InfluxQL directly against influxd (test setup: CREATE/DROP DATABASE, checks)."""
        import json

        data = urllib.parse.urlencode({"q": q, "db": db, "epoch": "ns"}).encode()
        with urllib.request.urlopen(self.direct_url + "/query", data=data, timeout=10) as response:
            return dict(json.loads(response.read()))

    def create_database(self, name: str) -> None:
        result = self.query(f'CREATE DATABASE "{name}"')
        if "error" in str(result):
            raise RuntimeError(f"CREATE DATABASE {name} failed: {result}")

    def drop_database(self, name: str) -> None:
        self.query(f'DROP DATABASE "{name}"')


class GunicornPortal:
    """The portal under gunicorn (gthread, as production runs it) with production settings (DEBUG=0).

    `env` overrides or adds variables (e.g. DATABASE_URL through a tests.proxy.TcpProxy); keys issued by the
    test process work because the pepper is the test settings' own.
    """

    def __init__(self, *, env: dict[str, str], log_dir: Path, workers: int = 2, threads: int = 4) -> None:
        from django.conf import settings

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        root = Path(__file__).resolve().parents[1]
        full_env = {k: v for k, v in os.environ.items() if k not in {"CACHE_URL", "REDIS_URL", "DATABASE_URL"}}
        full_env.update(
            {
                "DEBUG": "0",
                "SECRET_KEY": "gunicorn-test-secret-key-" + "x" * 40,
                "API_KEY_PEPPER": settings.API_KEY_PEPPER,
                "ALLOWED_HOSTS": "127.0.0.1",
                "SECURE_SSL_REDIRECT": "0",
                "LOG_DIR": str(log_dir),
                "LOG_LEVEL": "INFO",
                "TIMESERIES_BACKEND": "sql",
                **env,
            }
        )
        self._output = (log_dir / "gunicorn.out").open("wb")
        self.process = subprocess.Popen(
            [
                *(str(root / ".venv" / "bin" / "gunicorn"), "portal.wsgi:application", "-k", "gthread"),
                *("-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{self.port}"),
            ],
            cwd=root,
            env=full_env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_health(self.url, self.process, log_dir / "gunicorn.out")
        except RuntimeError:
            self.close()
            raise

    def output(self) -> str:
        return (self.log_dir / "gunicorn.out").read_text(errors="replace")

    def log_records(self) -> list[dict[str, object]]:
        """The JSON lines of the portal's rotating log file (every worker writes to it)."""
        import json

        path = self.log_dir / "portal.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]

    def close(self) -> None:
        stop_process(self.process)
        self._output.close()
