"""Small pushes/s through gunicorn vs the same server's GET /health, in one run: the "push cost".

wrk (bench/wrk_push.lua, one thread, 16 keep-alive connections) POSTs one 5-field line protocol line per
request to /api/v2/write (50 devices in rotation, no timestamp: each push is a new point), then GETs
/health with the same connections; `--rounds` alternating pairs, so both see the same machine load.
The server is the production gunicorn line (bench/_server.py: docs/operations.md, access log on), the
bench key's rate limit lifted but still counted in Redis. push cost = /health req/s ÷ push req/s.

    BENCH_DB=beacon_bench_push .venv/bin/python bench/push.py [--workers 2] [--threads 4] [--connections 16]
        [--seconds 6] [--rounds 3] [--profile] [--py-spy]

Targets (issue 13, 2-core box): >= 1,000 pushes/s, p99 < 50 ms, push cost <= 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _pyspy
from bench._common import ROOT, drop_bench_db, machine, setup_django_bench_db
from bench._server import REDIS_URL, Gunicorn, bench_key, post, server_cpu, server_env, uptime
from bench._wrk import run_wrk, wrk_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker; 1 = sync workers")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="pyinstrument in each worker: var/profile-push.*")
    parser.add_argument("--py-spy", action="store_true", help="py-spy every worker thread in round 1; print the top")
    args = parser.parse_args()
    if not wrk_path():
        parser.error("wrk is not installed (apt-get install wrk)")
    import os

    os.environ.update(CACHE_URL=REDIS_URL, TIMESERIES_BACKEND="sql")
    setup_django_bench_db()
    from django.db import connection

    token = bench_key()
    env = server_env(**({"BENCH_PROFILE_OUT": str(ROOT / "var" / "profile-push")} if args.profile else {}))
    rows = []
    try:
        with Gunicorn(env, workers=args.workers, threads=args.threads, profile=args.profile) as server:
            print(
                f"Small pushes vs GET /health: gunicorn {server.describe}, wrk {args.connections} keep-alive "
                f"connections, {args.seconds:.0f} s each, on {machine()}"
            )
            # Steady state before timing: every worker and thread warm (connection, key memo), and all 50 devices
            # registered and in each worker's device memo (else the first round measures 100 registrations).
            warm = max(200, 8 * args.workers * max(1, args.threads))
            for n in range(warm):
                line = f"edge,device=dev-{n % 50:03d} cpu=1.5,mem=40.2,disk=70.1,load=0.3,temp=48"
                status, body = post(server.port, "/api/v2/write", line.encode(), token)
                assert status == 204, body
            for number in range(1, args.rounds + 1):
                load = uptime()
                before = server_cpu(server)
                spies = (
                    _pyspy.start(server.worker_pids(), args.seconds, ROOT / "var")
                    if args.py_spy and number == 1
                    else []
                )
                push = run_wrk(server.port, token, connections=args.connections, seconds=args.seconds)
                after = server_cpu(server)
                for spy in spies:
                    spy.wait(timeout=60)
                pushes_done = push["requests"]
                push["cpu_workers"] = (after["workers"] - before["workers"]) * 1000 / pushes_done
                push["cpu_postgres"] = (after["postgres"] - before["postgres"]) * 1000 / pushes_done
                push["commits"] = (after["commits"] - before["commits"]) / pushes_done
                health = run_wrk(
                    server.port, token, connections=args.connections, seconds=args.seconds, health_only=True
                )
                rows.append((number, load, push, health))
                print(
                    f"round {number} ({load}): push {push['pushes_per_s']:,.0f}/s p50 {push['p50']:.1f} ms "
                    f"p99 {push['p99']:.1f} ms; /health {health['pushes_per_s']:,.0f}/s; "
                    f"cost {health['pushes_per_s'] / push['pushes_per_s']:.2f}; cpu ms per push: gunicorn "
                    f"{push['cpu_workers']:.2f}, postgres {push['cpu_postgres']:.2f}; "
                    f"commits per push {push['commits']:.2f}",
                    flush=True,
                )
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ingest_datapoint WHERE field = 'temp'")
            stored = cursor.fetchone()[0]
    finally:
        drop_bench_db()
    best = max(rows, key=lambda r: r[2]["pushes_per_s"])
    pushes = sum(r[2]["pushes_per_s"] for r in rows) * args.seconds
    print()
    print("| round | load (1/5/15 min) | pushes/s | p50 ms | p99 ms | GET /health/s | push cost (/health ÷ push) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for number, load, push, health in rows:
        print(
            f"| {number}{' (best)' if number == best[0] else ''} | {load.split(': ')[1]} "
            f"| {push['pushes_per_s']:,.0f} | {push['p50']:.1f} | {push['p99']:.1f} "
            f"| {health['pushes_per_s']:,.0f} | {health['pushes_per_s'] / push['pushes_per_s']:.2f} |"
        )
    if args.py_spy:
        print("\npy-spy, round 1, share of the workers' computing samples (frames on the stack):")
        for share, frame in _pyspy.top(sorted((ROOT / "var").glob("pyspy-push.*.txt")), 30):
            print(f"{share * 100:5.1f} %  {frame[:140]}")
    print(f"\nstored: {stored:,} pushed points (≈{pushes:,.0f} answered 204 in the timed rounds + {warm} warm-up)")
    print("Targets: >= 1,000 pushes/s, p99 < 50 ms, push cost <= 2 (same round).")


if __name__ == "__main__":
    main()
