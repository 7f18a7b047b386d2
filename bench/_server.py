"""What bench/push.py and bench/ingest.py share: a bench organization + key, and gunicorn as production runs it.

The server is started with the gunicorn line of docs/operations.md (gthread workers, keep-alive), production
settings (DEBUG=0) and the portal's access log on (LOG_LEVEL=INFO), against the bench database and Redis.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from bench._common import BENCH_DB, PG_ADMIN_URL, ROOT

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uptime() -> str:
    """The load averages right now (the machine is shared: every figure is printed with them)."""
    with open("/proc/loadavg") as fh:
        one, five, fifteen = fh.read().split()[:3]
    return f"{time.strftime('%H:%M:%S', time.gmtime())} UTC load average: {one}, {five}, {fifteen}"


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:  # the process ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def server_cpu(server: Gunicorn) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn workers and by the PostgreSQL backends of the bench database,
    and that database's commits (statistics lag up to a second: a per-round figure, not exact).

    Throughput on a shared 2-core box swings with the other tenants' load; CPU per request does much less,
    so a lever's effect shows in `cpu ms per push` even when pushes/s is noise.
    """
    import psycopg

    workers = server.worker_pids()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        backends = [r[0] for r in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [BENCH_DB])]
        admin.execute("SELECT pg_stat_clear_snapshot()")
        row = admin.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [BENCH_DB]).fetchone()
    return {
        "commits": float(row[0]) if row else 0.0,
        "workers": sum(_cpu_seconds(p) for p in workers),
        "postgres": sum(_cpu_seconds(p) for p in backends),
    }


def bench_key(rate: str = "10000000/m") -> str:
    """A metrics:write key of the `bench` organization, its rate limit lifted (call after Django setup)."""
    from accounts import services as accounts
    from accounts.models import Organization

    org = Organization.objects.filter(slug="bench").first() or accounts.organization_create(name="Bench", slug="bench")
    return accounts.api_key_issue(organization=org, name="bench", scopes=["metrics:write"], rate_limit=rate).plaintext


def settings_pepper() -> str:
    from django.conf import settings

    return str(settings.API_KEY_PEPPER)


def server_env(**extra: str) -> dict[str, str]:

    return {
        "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{BENCH_DB}",
        # Production settings (DEBUG=0), minus HTTPS redirects on loopback; the pepper the key was issued with.
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret-" + "x" * 40,
        "API_KEY_PEPPER": settings_pepper(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),  # INFO: the access log is written, as in production
        "CACHE_URL": REDIS_URL,
        "LOG_DIR": str(ROOT / "var" / "bench-logs"),
        "TIMESERIES_BACKEND": "sql",
        **extra,
    }


class Gunicorn:
    """`gunicorn portal.wsgi --workers W --worker-class gthread --threads T --keep-alive 75` (T=1: sync workers)."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 4, profile: bool = False) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.workers = workers
        self.threads = threads
        self.profile = profile
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def describe(self) -> str:
        return f"{self.workers} sync" if self.threads <= 1 else f"{self.workers} x {self.threads} gthread"

    def command(self) -> list[str]:
        worker = ["--worker-class", "gthread", "--threads", str(self.threads)] if self.threads > 1 else []
        return [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "portal.wsgi",
            "--workers",
            str(self.workers),
            *worker,
            "--keep-alive",
            "75",
            *(["-c", str(ROOT / "bench" / "_gunicorn_profile.py")] if self.profile else []),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "120",
        ]

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]

    def __enter__(self) -> Gunicorn:
        (ROOT / "var").mkdir(exist_ok=True)
        log = open(ROOT / "var" / "bench-gunicorn.log", "ab")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not start; see var/bench-gunicorn.log")

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def post(port: int, path: str, body: bytes, token: str, *, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    sent = {"Authorization": f"Token {token}", "Content-Type": "text/plain; charset=utf-8", **(headers or {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", path, body=body, headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data
