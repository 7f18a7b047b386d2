"""The cost of Beacon's own metrics (/-/metrics) on the push path: small pushes/s with and without them.

Same run, same database, same gunicorn shape (-w 2 gthread --threads 4, production settings), rounds
interleaved so machine load hits every configuration alike:
- baseline: the metrics middleware removed (bench/_settings_nometrics.py); ingest's counters still count
  in memory (a dict increment), so this is the middleware's and the multiprocess files' cost;
- in-process: the metrics on, no PROMETHEUS_MULTIPROC_DIR (counters in each worker's memory);
- multiprocess: the metrics on with PROMETHEUS_MULTIPROC_DIR (production: mmap'ed files per worker).
Ratio = with metrics / baseline. After the last round a scrape of /-/metrics checks the counts add up.

    .venv/bin/python bench/opsmetrics.py [--rounds 3] [--seconds 6] [--connections 16]

Needs Postgres (database beacon_bench, created and dropped), Redis (db 11) and wrk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import BENCH_DB, PG_ADMIN_URL, drop_bench_db, machine, setup_django_bench_db
from bench._server import REDIS_URL, Gunicorn, post, settings_pepper
from bench._wrk import run_wrk, wrk_path

TOKEN = "bench-ops-token-" + "k" * 24
# What the middleware and the write view add per push, timed alone in a fresh process (the value class is
# chosen at import): one request counter, one latency observation, two ingest counters.
_PER_PUSH = """
import os, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from portal.api import opsmetrics as m
n = 50_000
t0 = time.perf_counter()
for _ in range(n):  # as MetricsMiddleware and the write view do it
    key = ("api/v2/write", "POST", 204)
    children = m._CHILDREN.get(key)
    if children is None:
        children = m._CHILDREN[key] = m._children(*key)
    children[0].inc()
    children[1].observe(0.004)
    m.BATCHES_STORED.inc()
    m.POINTS_STORED.inc(1)
print((time.perf_counter() - t0) / n * 1e6)
"""


def per_push_us(multiproc_dir: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | {"DEBUG": "1"}
    if multiproc_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir
    code = _PER_PUSH.format(root=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def _warm_line(i: int) -> bytes:
    """One small point per warm-up request (each worker must have loaded Django before wrk starts)."""
    return f"edge,device=warm-{i:02d} cpu=1.5,mem=40.2".encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not wrk_path():
        parser.error("wrk is not installed (apt-get install wrk)")
    print(f"Beacon's own metrics on the push path: gunicorn -w 2 gthread --threads 4, wrk {args.connections} conns")
    print(f"on {machine()}; load before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    os.environ.update(CACHE_URL=REDIS_URL, TIMESERIES_BACKEND="sql")
    setup_django_bench_db()
    from accounts import services as accounts

    org = accounts.organization_create(name="Bench", slug="bench")
    key = accounts.api_key_issue(organization=org, name="b", scopes=["metrics:write"], rate_limit="10000000/m")
    token = key.plaintext
    base = {
        "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{BENCH_DB}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-secret-" + "x" * 40,
        "API_KEY_PEPPER": settings_pepper(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": REDIS_URL,
        "LOG_DIR": str(Path(tempfile.gettempdir()) / "beacon-bench-logs"),
        "OPS_METRICS_TOKEN": TOKEN,
    }
    base.pop("PROMETHEUS_MULTIPROC_DIR", None)
    multiproc = tempfile.mkdtemp(prefix="beacon-bench-metrics-")
    configs = {
        "baseline (no middleware)": {**base, "DJANGO_SETTINGS_MODULE": "bench._settings_nometrics"},
        "metrics in-process": base,
        "metrics multiprocess": {**base, "PROMETHEUS_MULTIPROC_DIR": multiproc},
    }
    figures: dict[str, list[float]] = {name: [] for name in configs}
    p50: dict[str, list[float]] = {name: [] for name in configs}
    scraped = ""
    try:
        for _ in range(args.rounds):
            for name, env in configs.items():
                saved = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
                with Gunicorn(env, workers=2, threads=4) as server:
                    for i in range(8):  # warm both workers
                        post(server.port, "/api/v2/write", _warm_line(i), token)
                    result = run_wrk(server.port, token, connections=args.connections, seconds=args.seconds)
                    if "multiprocess" in name:
                        request = urllib.request.Request(
                            f"http://127.0.0.1:{server.port}/-/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                        )
                        with urllib.request.urlopen(request, timeout=10) as answer:
                            scraped = answer.read().decode()
                if saved is not None:
                    os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
                figures[name].append(result["pushes_per_s"])
                p50[name].append(result["p50"])
    finally:
        drop_bench_db()
    stored = next(
        float(line.split()[-1])
        for line in scraped.splitlines()
        if line.startswith('beacon_ingest_batches_total{outcome="stored"}')
    )
    baseline = statistics.median(figures["baseline (no middleware)"])
    print()
    print("| configuration | pushes/s (median of rounds) | each round | p50 (ms) | vs baseline |")
    print("|---|---:|---|---:|---:|")
    for name, values in figures.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{v:,.0f}" for v in values)
        print(f"| {name} | {median:,.0f} | {rounds} | {statistics.median(p50[name]):.1f} | {median / baseline:.3f} |")
    print()
    print(
        f"last multiprocess run: /-/metrics counted {stored:,.0f} stored batches (warm-up + wrk, summed over workers)"
    )
    in_process = min(per_push_us(None) for _ in range(3))
    files = min(per_push_us(tempfile.mkdtemp(prefix="beacon-bench-metrics-")) for _ in range(3))
    print(f"counting alone, per push (best of 3 x 50,000): in-process {in_process:.1f} us, multiprocess {files:.1f} us")
    print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
