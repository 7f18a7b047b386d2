"""CPU per request of the hot routes, in one process, against GET /health in the same process.

Requests go straight to Django's WSGI handler (no HTTP server, no load generator), one after another, with
production settings (DEBUG=0, access log on: LOG_LEVEL=INFO to the rotating file), PostgreSQL and Redis on
loopback. The process's CPU time (user + system) per request is far steadier on a shared 2-core box than
requests/s under wrk, so a lever's effect shows here in one run; bench/push.py and bench/registry.py give
the throughput. Each route: 500 warm-up requests, then the best of --repeats runs of --requests.

    BENCH_DB=beacon_bench_cpu .venv/bin/python bench/request_cpu.py [--requests 3000] [--repeats 3]

Routes: a small push (POST /api/v2/write, one 5-field line, 50 devices in rotation), a gauge inc
(PUT /api/v1/gauges/<one of 16>/inc), a Pushgateway push (PUT /metrics/job/bench/instance/<one of 1,000>,
10 gauges) and GET /health. "cost" = CPU per request ÷ CPU per /health, the CPU side of bench/push.py's
push cost.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, drop_bench_db, machine, setup_django_bench_db

Environ = Callable[[int], dict[str, Any]]


def _environ(method: str, path: str, body: bytes, content_type: str, token: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Token {token}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }


def routes(write_token: str, gauge_token: str) -> dict[str, Environ]:
    def push(n: int) -> dict[str, Any]:
        line = f"edge,device=dev-{n % 50:03d} cpu=1.5,mem=40.2,disk=70.1,load=0.3,temp=48".encode()
        return _environ("POST", "/api/v2/write", line, "text/plain; charset=utf-8", write_token)

    def inc(n: int) -> dict[str, Any]:
        return _environ("PUT", f"/api/v1/gauges/bench_counter_{n % 16}/inc", b"", "", gauge_token)

    def group(n: int) -> dict[str, Any]:
        body = "".join(
            f'# TYPE bench_gauge_{g} gauge\nbench_gauge_{g}{{kind="k{g}"}} {n * 0.5 + g}\n' for g in range(10)
        )
        path = f"/metrics/job/bench/instance/host-{n % 1000:05d}"
        return _environ("PUT", path, body.encode(), "text/plain; version=0.0.4", gauge_token)

    def health(n: int) -> dict[str, Any]:
        return _environ("GET", "/health", b"", "", "")

    return {"small push": push, "gauge inc": inc, "Pushgateway push": group, "GET /health": health}


def cpu_per_request(app: Any, environ: Environ, *, requests: int, repeats: int) -> float:
    """Best (least) CPU ms per request over `repeats` runs; every answer must be 2xx."""
    statuses: list[str] = []

    def call(n: int) -> None:
        answer = app(environ(n), lambda status, headers, exc=None: statuses.append(status))
        b"".join(answer)
        answer.close()

    for n in range(500):
        call(n)
    best = float("inf")
    for _ in range(repeats):
        statuses.clear()
        began = time.process_time()
        for n in range(requests):
            call(n)
        best = min(best, (time.process_time() - began) * 1000 / requests)
        failed = [s for s in statuses if not s.startswith("2")]
        if failed:
            raise RuntimeError(f"{len(failed)} requests answered {failed[0]}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("BENCH_DB", "beacon_bench_cpu")
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="bench-only-not-secret-" + "x" * 40,
        API_KEY_PEPPER="bench-only-pepper-" + "x" * 30,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="INFO",  # the access log on, as in production: to stdout and the rotating file
        LOG_DIR=str(ROOT / "var" / "bench-logs"),
        CACHE_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
        TIMESERIES_BACKEND="sql",
    )
    # The log's stdout copy goes to a file (as under gunicorn), so that this script's own output stays readable.
    (ROOT / "var" / "bench-logs").mkdir(parents=True, exist_ok=True)
    printed, sys.stdout = sys.stdout, open(ROOT / "var" / "bench-logs" / "request_cpu.stdout", "a")  # noqa: SIM115
    setup_django_bench_db()
    try:
        from django.core.wsgi import get_wsgi_application

        from accounts import services as accounts
        from registry.models import Gauge

        org = accounts.organization_create(name="Bench", slug="bench")
        lifted = "10000000/m"  # still counted in Redis, as bench/push.py's key
        write = accounts.api_key_issue(organization=org, name="w", scopes=["metrics:write"], rate_limit=lifted)
        gauges = accounts.api_key_issue(organization=org, name="g", scopes=["gauges:write"], rate_limit=lifted)
        Gauge.objects.bulk_create(
            [
                Gauge(organization=org, name=f"bench_counter_{i}", labels_key="{}", identity=f"bench_counter_{i}{{}}")
                for i in range(16)
            ]
        )
        app = get_wsgi_application()
        print(
            f"CPU per request, in-process, DEBUG=0, access log on; {machine()}; load {os.getloadavg()[0]:.2f}",
            file=printed,
            flush=True,
        )
        figures = {
            name: cpu_per_request(app, environ, requests=args.requests, repeats=args.repeats)
            for name, environ in routes(write.plaintext, gauges.plaintext).items()
        }
    finally:
        drop_bench_db()
        sys.stdout = printed
    health = figures["GET /health"]
    print("| route | CPU ms per request (best of runs) | cost (÷ GET /health) |\n|---|---:|---:|")
    for name, ms in figures.items():
        print(f"| {name} | {ms:.3f} | {ms / health:.1f} |")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
