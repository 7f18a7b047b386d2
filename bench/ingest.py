"""Ingest through the API vs straight into the store, both backends; and small pushes/s with p50/p99.

- Batches: 5,000-line line-protocol bodies (5 float fields, 50 devices) POSTed one after another to
  /api/v2/write on gunicorn (free loopback port) vs the same points passed to
  get_store().write in this process. Ratio = API / direct (target >= 0.5).
- Small pushes: one line (5 fields) per request for --seconds (target >= 1,000/s), driven by wrk
  (bench/wrk_push.lua, keep-alive) when installed, else by --clients Python processes (printed which).
  Server: gunicorn --workers 2 (the issue's setup), gthread --threads 4 as in docker/Dockerfile (--threads 1 = sync).
  Server settings are production ones (DEBUG=0); BENCH_LOG_LEVEL=INFO also writes the access log.

    .venv/bin/python bench/ingest.py [--batches 10] [--backend sql|influx|both] [--client auto|wrk|python]
        [--connections 16] [--workers 2] [--threads 4] [--clients 4] [--seconds 8] [--small-only]

Needs Postgres (database beacon_bench is created and dropped) and Redis (db 11, rate-limit counters).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import BENCH_DB, PG_ADMIN_URL, ROOT, drop_bench_db, machine, percentiles, setup_django_bench_db
from bench._wrk import run_wrk, wrk_path
from bench.store import FIELDS, LINES, make_batches, measure_direct_writes

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
NS = 1_000_000_000


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_pepper() -> str:
    from django.conf import settings

    return str(settings.API_KEY_PEPPER)


def to_line_protocol(batch: list[Any]) -> bytes:
    from ingest.lineprotocol import format_line

    return "\n".join(format_line(p.measurement, dict(p.tags), dict(p.fields), p.time_ns) for p in batch).encode()


class Gunicorn:
    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 1, profile: bool = False) -> None:
        self.port = free_port()
        self.profile = profile
        self.env = {**os.environ, **env}
        self.workers = workers
        self.threads = threads
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def describe(self) -> str:
        return f"-w {self.workers} sync" if self.threads <= 1 else f"-w {self.workers} gthread --threads {self.threads}"

    def __enter__(self) -> Gunicorn:
        log = open(ROOT / "var" / "bench-gunicorn.log", "ab")
        self.proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "portal.wsgi:application",
                "-w",
                str(self.workers),
                *(["--worker-class", "gthread", "--threads", str(self.threads)] if self.threads > 1 else []),
                *(["-c", str(ROOT / "bench" / "_gunicorn_profile.py")] if self.profile else []),
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start; see var/bench-gunicorn.log")

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def post(port: int, path: str, body: bytes, token: str, *, gzip_body: bool = False) -> tuple[int, bytes]:
    headers = {"Authorization": f"Token {token}", "Content-Type": "text/plain; charset=utf-8"}
    if gzip_body:
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def measure_api_batches(port: int, token: str, bodies: list[bytes], *, gzip_body: bool) -> dict[str, float]:
    latencies = []
    started = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        status, data = post(port, "/api/v2/write?precision=ns", body, token, gzip_body=gzip_body)
        if status != 204:
            raise RuntimeError(f"API answered {status}: {data[:300]!r}")
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "values_per_s": len(bodies) * LINES * FIELDS / elapsed,
        "batch_ms_p50": latencies[len(latencies) // 2],
        "batch_ms_max": latencies[-1],
    }


def _small_line(device: int) -> bytes:
    return f"edge,device=dev-{device % 50:03d} cpu=1.5,mem=40.2,disk=70.1,load=0.3,temp=48 {time.time_ns()}".encode()


def _pusher(port: int, token: str, seconds: float, worker: int, out: Any, health_only: bool) -> None:
    latencies = []
    errors = 0
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        if health_only:  # the ceiling: the same stack answering a request that does no I/O
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/health")
            status = conn.getresponse().status
            conn.close()
            errors += status != 200
        else:
            status, _ = post(port, "/api/v2/write", _small_line(worker * 13 + i), token)
            errors += status != 204
        latencies.append((time.perf_counter() - t0) * 1000)
        i += 1
    out.put((latencies, errors))


def measure_direct_small(store: Any, tenant: str, count: int = 200) -> dict[str, float]:
    """One point (5 fields) per store.write, one thread: the store's own small-write cost."""
    from timeseries import Point

    latencies = []
    started = time.perf_counter()
    for i in range(count):
        point = Point(
            "edge",
            {"device": f"dev-{i % 50:03d}"},
            {"cpu": 1.5, "mem": 40.2, "disk": 70.1, "load": 0.3, "temp": 48.0},
            time.time_ns(),
        )
        t0 = time.perf_counter()
        store.write(tenant=tenant, points=[point])
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return {"writes_per_s": count / elapsed, "p50": percentiles(latencies)["p50"]}


def measure_small_pushes(
    port: int, token: str, clients: int, seconds: float, *, health_only: bool = False
) -> dict[str, float]:
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_pusher, args=(port, token, seconds, w, queue, health_only))
        for w in range(clients)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    latencies = [lat for lats, _ in results for lat in lats]
    errors = sum(e for _, e in results)
    if errors:
        raise RuntimeError(f"{errors} small pushes failed")
    figures = percentiles(latencies)
    return {"pushes_per_s": len(latencies) / elapsed, "p50": figures["p50"], "p99": figures["p99"]}


def small_pushes(port: int, token: str, args: argparse.Namespace, *, health_only: bool = False) -> dict[str, float]:
    seconds = min(args.seconds, 4) if health_only else args.seconds
    if args.client == "wrk":
        return run_wrk(port, token, connections=args.connections, seconds=seconds, health_only=health_only)
    return measure_small_pushes(port, token, args.clients, seconds, health_only=health_only)


def run_backend(name: str, args: argparse.Namespace, token: str, env: dict[str, str], store: Any) -> dict[str, Any]:
    base_ns = (time.time_ns() // NS - 3 * 86_400) * NS
    direct_batches = make_batches(args.batches, start_ns=base_ns)
    api_batches = make_batches(args.batches, start_ns=base_ns + 86_400 * NS)
    gzip_batches = make_batches(args.batches, start_ns=base_ns + 2 * 86_400 * NS - 3600 * NS)
    bodies = [to_line_protocol(b) for b in api_batches]
    gz_bodies = [to_line_protocol(b) for b in gzip_batches]
    from accounts.models import Organization

    tenant = str(Organization.objects.get(slug="bench").id)
    store.write(tenant=tenant, points=make_batches(1, lines=50, start_ns=base_ns - 3600 * NS)[0])  # warm-up
    nothing = {"values_per_s": float("nan"), "batch_ms_p50": float("nan"), "batch_ms_max": float("nan")}
    direct = nothing if args.small_only else measure_direct_writes(store, direct_batches, tenant=tenant)
    direct_small = measure_direct_small(store, tenant)
    if args.profile:  # profile only the small pushes, inside the server (bench/_gunicorn_profile.py)
        env = {**env, "BENCH_PROFILE_OUT": str(ROOT / "var" / f"profile-{name}")}
    with Gunicorn(env, workers=args.workers, threads=args.threads, profile=args.profile) as server:
        for _ in range(2 * args.workers):  # warm every worker (connection, store, key lookup SQL)
            post(server.port, "/api/v2/write", to_line_protocol(make_batches(1, lines=50)[0]), token)
        api = nothing if args.small_only else measure_api_batches(server.port, token, bodies, gzip_body=False)
        api_gz = nothing if args.small_only else measure_api_batches(server.port, token, gz_bodies, gzip_body=True)
        small = small_pushes(server.port, token, args)
        ceiling = small_pushes(server.port, token, args, health_only=True)
    return {
        "direct": direct,
        "api": api,
        "api_gz": api_gz,
        "small": small,
        "direct_small": direct_small,
        "ceiling": ceiling,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--backend", choices=["sql", "influx", "both"], default="both")
    parser.add_argument("--clients", type=int, default=4, help="python client processes (fallback client)")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--connections", type=int, default=16, help="wrk keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker; 1 = sync")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--small-only", action="store_true", help="skip the batch measurements")
    parser.add_argument(
        "--profile", action="store_true", help="pyinstrument in each worker; text reports in var/profile-<backend>.*"
    )
    args = parser.parse_args()
    if args.client == "auto":
        args.client = "wrk" if wrk_path() else "python"
    if args.client == "wrk" and not wrk_path():
        parser.error("wrk is not installed (apt-get install wrk); use --client python")
    kind = f"-w {args.workers} sync" if args.threads <= 1 else f"-w {args.workers} gthread --threads {args.threads}"
    if args.client == "wrk":
        client_desc = f"wrk, {args.connections} keep-alive connections"
    else:
        client_desc = f"python client, {args.clients} processes, a new connection per request (wrk not used)"
    print(f"Ingest: API (gunicorn {kind}) vs direct store; {args.batches} batches x {LINES} lines x {FIELDS} fields")
    print(f"Small pushes: {client_desc}")
    print(f"on {machine()}")
    os.environ.update(CACHE_URL=REDIS_URL, TIMESERIES_BACKEND="sql")
    setup_django_bench_db()
    import redis

    from accounts import services as accounts

    org = accounts.organization_create(name="Bench", slug="bench")
    token = accounts.api_key_issue(
        organization=org, name="bench", scopes=["metrics:write"], rate_limit="10000000/m"
    ).plaintext
    base_env = {
        "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{BENCH_DB}",
        # Production settings (DEBUG=0: no per-query debug recording), minus HTTPS redirects on loopback;
        # the pepper is the one this process issued the key with.
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret-" + "x" * 40,
        "API_KEY_PEPPER": settings_pepper(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),  # INFO: also write the access log
        "CACHE_URL": REDIS_URL,
        "LOG_DIR": str(ROOT / "var" / "bench-logs"),
    }
    results: dict[str, dict[str, Any]] = {}
    try:
        if args.backend in ("sql", "both"):
            from timeseries.sql import SqlStore

            results["sql"] = run_backend("sql", args, token, {**base_env, "TIMESERIES_BACKEND": "sql"}, SqlStore())
        if args.backend in ("influx", "both"):
            from tests.servers import InfluxServer
            from timeseries.influx import InfluxStore

            server = InfluxServer()
            try:
                server.start()
                server.create_database("bench")
                store = InfluxStore(
                    url=server.url, token="", org="o", bucket="bench", database="bench", timeout_ms=60_000
                )
                env = {
                    **base_env,
                    "TIMESERIES_BACKEND": "influx",
                    "INFLUX_URL": server.url,
                    "INFLUX_BUCKET": "bench",
                    "INFLUX_DATABASE": "bench",
                    "INFLUX_TIMEOUT_MS": "60000",
                }
                results["influx"] = run_backend("influx", args, token, env, store)
                store.close()
            finally:
                server.close()
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match="beacon:*"):
            client.delete(key)
        drop_bench_db()

    if not args.small_only:  # the batch table has nothing to show
        print()
        print(
            "| backend | direct store (values/s) | API (values/s) | API/direct | API gzip (values/s) | gzip/direct "
            "| API batch p50 (ms) | small pushes/s | push p50 (ms) | push p99 (ms) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in results.items():
            d, a, g, s = r["direct"]["values_per_s"], r["api"]["values_per_s"], r["api_gz"]["values_per_s"], r["small"]
            print(
                f"| {name} | {d:,.0f} | {a:,.0f} | {a / d:.2f} | {g:,.0f} | {g / d:.2f} "
                f"| {r['api']['batch_ms_p50']:.0f} | {s['pushes_per_s']:,.0f} | {s['p50']:.1f} | {s['p99']:.1f} |"
            )
    print()
    print(
        "| backend | small pushes/s (API) | push p50 / p99 (ms) | direct store small writes/s (1 thread) "
        "| store write p50 (ms) | GET /health/s (same server, no I/O) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        s = r["small"]
        print(
            f"| {name} | {s['pushes_per_s']:,.0f} | {s['p50']:.1f} / {s['p99']:.1f} "
            f"| {r['direct_small']['writes_per_s']:,.0f} "
            f"| {r['direct_small']['p50']:.1f} | {r['ceiling']['pushes_per_s']:,.0f} |"
        )
    print()
    print(
        "Targets: API/direct >= 0.5; small pushes >= 1,000/s "
        f"({client_desc}, {args.seconds:.0f} s, one 5-field line each)."
    )


if __name__ == "__main__":
    main()
