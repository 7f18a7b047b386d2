"""Pushgateway-compatible pushes: Beacon (gunicorn, production settings) vs Debian's prometheus-pushgateway.

In one run, the same keep-alive client (wrk with bench/wrk_push.lua when installed, else Python
processes; --clients persistent HTTP connections) PUTs a 10-gauge group to a random one of N stored groups,
for N = 1, 100, 1,000, 5,000 (--sizes), against both servers side by side; prints pushes/s, p50/p99 and
the ratio Beacon / Pushgateway at each size. Then (Beacon only, with a baseline) gauge `inc` with
--inc-clients clients vs `GET /health` on the same server, and `GET /metrics` with 10,000 gauges + the
5,000 pushed groups (50k series) vs Pushgateway's /metrics.

    .venv/bin/python bench/registry.py [--sizes 1,100,1000,5000] [--seconds 6] [--clients 4]
        [--workers 2] [--threads 4] [--inc-clients 16] [--skip-pushgateway]

Needs Postgres (database beacon_bench_registry is created and dropped), Redis (db 2, rate-limit counters)
and `prometheus-pushgateway` (started on a free port with --persistence.file= empty).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("BENCH_DB", "beacon_bench_registry")

from bench._common import BENCH_DB, PG_ADMIN_URL, ROOT, drop_bench_db, machine, percentiles, setup_django_bench_db
from bench._server import Gunicorn, free_port, settings_pepper
from bench._wrk import run_wrk, wrk_path

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
GAUGES_PER_GROUP = 10


def body(seed: int) -> bytes:
    lines = []
    for g in range(GAUGES_PER_GROUP):
        lines.append(f'# TYPE bench_gauge_{g} gauge\nbench_gauge_{g}{{kind="k{g}"}} {seed * 0.5 + g}\n')
    return "".join(lines).encode()


def group_path(i: int) -> str:
    return f"/metrics/job/bench/instance/host-{i:05d}"


class Client:
    """One keep-alive connection; reconnects if the server closed it."""

    def __init__(self, port: int, token: str | None) -> None:
        self.port = port
        self.headers = {"Content-Type": "text/plain; version=0.0.4"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def send(self, method: str, path: str, data: bytes | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=self.headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _fill(port: int, token: str | None, indexes: list[int], out: Any) -> None:
    client = Client(port, token)
    for i in indexes:
        status, data = client.send("PUT", group_path(i), body(i))
        if status >= 300:
            raise RuntimeError(f"fill push answered {status}: {data[:200]!r}")
    out.put(len(indexes))


def fill(port: int, token: str | None, start: int, stop: int, clients: int) -> float:
    """Push groups start..stop-1 (each once) with `clients` processes; seconds taken."""
    indexes = list(range(start, stop))
    if not indexes:
        return 0.0
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_fill, args=(port, token, indexes[c::clients], queue)) for c in range(clients)
    ]
    began = time.perf_counter()
    for p in procs:
        p.start()
    for _ in procs:
        queue.get()
    for p in procs:
        p.join()
    return time.perf_counter() - began


def _load(port: int, token: str | None, size: int, seconds: float, mode: str, seed: int, out: Any) -> None:
    client = Client(port, token)
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        if mode == "push":
            i = rng.randrange(size)
            status, _ = client.send("PUT", group_path(i), body(i + 1))
        elif mode == "inc":
            status, _ = client.send("PUT", f"/api/v1/gauges/bench_counter_{rng.randrange(16)}/inc")
        else:
            status, _ = client.send("GET", "/health")
        errors += status >= 300
        latencies.append((time.perf_counter() - t0) * 1000)
    out.put((latencies, errors))


def load(port: int, token: str | None, size: int, seconds: float, clients: int, mode: str) -> dict[str, float]:
    """{"rate", "p50", "p99"} of `clients` keep-alive connections: wrk (bench/wrk_push.lua) when installed,
    else Python processes (which spend as much CPU per request as a small server does: lower figures)."""
    if wrk_path():
        env = {"BENCH_MODE": mode, "BENCH_SIZE": str(size), "BENCH_SEED": str(size)}
        got = run_wrk(port, token or "", connections=clients, seconds=seconds, env=env)
        return {"rate": got["pushes_per_s"], "p50": got["p50"], "p99": got["p99"]}
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_load, args=(port, token, size, seconds, mode, c, queue)) for c in range(clients)
    ]
    began = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - began
    latencies = [ms for got, _ in results for ms in got]
    errors = sum(e for _, e in results)
    if errors:
        raise RuntimeError(f"{errors} {mode} requests failed")
    return {"rate": len(latencies) / elapsed, **percentiles(latencies)}


class Pushgateway:
    def __init__(self) -> None:
        self.binary = shutil.which("prometheus-pushgateway")
        if not self.binary:
            raise SystemExit("prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway)")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Pushgateway:
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--persistence.file=",
                "--web.enable-admin-api",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if Client(self.port, None).send("GET", "/-/ready")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("pushgateway did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def time_get(port: int, token: str | None, path: str, runs: int = 5) -> tuple[float, int]:
    client = Client(port, token)
    timings = []
    size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        status, data = client.send("GET", path)
        timings.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {data[:200]!r}")
        size = len(data)
    return sorted(timings)[len(timings) // 2], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,100,1000,5000")
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--inc-clients", type=int, default=16)
    parser.add_argument("--skip-pushgateway", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"Pushes of a {GAUGES_PER_GROUP}-gauge group (PUT), {args.clients} keep-alive clients, "
        f"{args.seconds:g} s per size"
    )
    print(f"Beacon: gunicorn -w {args.workers} gthread --threads {args.threads}, DEBUG=0, Redis rate-limit counters")
    print(f"on {machine()}; load before: {os.getloadavg()[0]:.2f}")
    os.environ.update(CACHE_URL=REDIS_URL)
    setup_django_bench_db()
    from accounts import services as accounts

    org = accounts.organization_create(name="Bench", slug="bench")
    scopes = ["gauges:write", "gauges:read", "scrape"]
    token = accounts.api_key_issue(organization=org, name="bench", scopes=scopes, rate_limit="10000000/m").plaintext
    env = {
        "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{BENCH_DB}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret-" + "x" * 40,
        "API_KEY_PEPPER": settings_pepper(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),  # INFO: the access log on, as in production
        "CACHE_URL": REDIS_URL,
        "LOG_DIR": str(ROOT / "var" / "bench-logs"),
    }
    (ROOT / "var" / "bench-logs").mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        with Gunicorn(env, workers=args.workers, threads=args.threads) as beacon:
            gateway = Pushgateway().__enter__() if not args.skip_pushgateway else None
            try:
                stored = 0
                # Uncounted warm-up (group 0, which the first size fills anyway): without it the first size
                # measured the workers' first requests (imports, connections) and the 5,000 / 1 ratio read 2.
                load(beacon.port, token, 1, min(2.0, args.seconds), args.clients, "push")
                if gateway:
                    load(gateway.port, None, 1, min(2.0, args.seconds), args.clients, "push")
                for size in sizes:
                    fill_b = fill(beacon.port, token, stored, size, args.clients)
                    fill_p = fill(gateway.port, None, stored, size, args.clients) if gateway else 0.0
                    stored = size
                    b = load(beacon.port, token, size, args.seconds, args.clients, "push")
                    p = load(gateway.port, None, size, args.seconds, args.clients, "push") if gateway else None
                    rows.append((size, b, p, fill_b, fill_p, os.getloadavg()[0]))
                    ratio = f"{b['rate'] / p['rate']:.2f}x" if p else "-"
                    pg = f"{p['rate']:8.0f}/s p50 {p['p50']:6.1f} p99 {p['p99']:7.1f} ms" if p else "(skipped)"
                    print(
                        f"{size:>6} groups: Beacon {b['rate']:7.0f}/s p50 {b['p50']:5.1f} p99 {b['p99']:6.1f} ms | "
                        f"Pushgateway {pg} | ratio {ratio} | fill {fill_b:.1f} s / {fill_p:.1f} s | "
                        f"load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
                first, last = rows[0][1]["rate"], rows[-1][1]["rate"]
                print(f"Beacon rate at {rows[-1][0]} groups / at {rows[0][0]}: {last / first:.2f} (target >= 0.8)")
                exposition(beacon.port, token, gateway, org, stored)
                incs(beacon.port, token, org, args)
            finally:
                if gateway:
                    gateway.__exit__()
    finally:
        drop_bench_db()
    print(f"load after: {os.getloadavg()[0]:.2f}")


def store_gauges(org: Any, count: int = 10_000) -> None:
    """`count` labelled gauges in bulk (bulk_create skips save(), which renders the labels: set here)."""
    from registry.models import Gauge

    Gauge.objects.bulk_create(
        [
            Gauge(
                organization=org,
                name="bench_registry_gauge",
                labels={"n": str(i)},
                labels_key=f'{{"n":"{i}"}}',
                rendered_labels=f'{{n="{i}"}}',
                identity=f'bench_registry_gauge{{"n":"{i}"}}',
                value=i,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


def exposition(port: int, token: str, gateway: Pushgateway | None, org: Any, groups: int) -> None:
    store_gauges(org)
    ms, size = time_get(port, token, "/metrics")
    line = (
        f"GET /metrics, 10,000 gauges + {groups} groups x {GAUGES_PER_GROUP}: Beacon {ms:.0f} ms ({size // 1024} KiB)"
    )
    if gateway:
        pms, psize = time_get(gateway.port, None, "/metrics")
        line += f" | Pushgateway ({groups * GAUGES_PER_GROUP} series) {pms:.0f} ms ({psize // 1024} KiB)"
    print(line + " (median of 5; target < 500 ms)")


def incs(port: int, token: str, org: Any, args: argparse.Namespace) -> None:
    from registry.models import Gauge

    Gauge.objects.bulk_create(
        [
            Gauge(organization=org, name=f"bench_counter_{i}", labels_key="{}", identity=f"bench_counter_{i}{{}}")
            for i in range(16)
        ]
    )
    inc = load(port, token, 1, args.seconds, args.inc_clients, "inc")
    health = load(port, token, 1, args.seconds, args.inc_clients, "health")
    print(
        f"gauge inc, {args.inc_clients} clients: {inc['rate']:.0f}/s p50 {inc['p50']:.1f} p99 {inc['p99']:.1f} ms | "
        f"GET /health same clients {health['rate']:.0f}/s | ratio {inc['rate'] / health['rate']:.2f} "
        "(target >= 1,000/s)"
    )


if __name__ == "__main__":
    main()
