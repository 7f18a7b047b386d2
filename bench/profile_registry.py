"""Profile the registry's hot paths in-process (pyinstrument, Django's test client, Redis rate limits on):
a push of a 10-gauge group, a gauge `inc`, and a `/metrics` scrape of 10,000 gauges + 5,000 groups x 10.

    BENCH_DB=beacon_bench_registry_profile .venv/bin/python bench/profile_registry.py [push|inc|metrics] [--all|--cpu]

Prints the per-request time and pyinstrument's tree (--all: library frames too), or with --cpu cProfile's
CPU seconds per function (waits excluded). Not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("BENCH_DB", "beacon_bench_registry_profile")

from bench._common import drop_bench_db, setup_django_bench_db


def _client(token: str):  # type: ignore[no-untyped-def]
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _fill_groups(org, count: int) -> None:  # type: ignore[no-untyped-def]
    from bench.registry import body
    from registry.pushes import group_push

    for i in range(count):
        group_push(
            organization=org,
            grouping={"job": "bench", "instance": f"host-{i:05d}"},
            body=body(i).decode(),
            replace=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="push", choices=["push", "inc", "metrics"])
    parser.add_argument("--all", action="store_true", help="pyinstrument: library frames too")
    parser.add_argument("--cpu", action="store_true", help="cProfile CPU seconds per function instead")
    args = parser.parse_args()
    mode = args.mode
    os.environ.setdefault("CACHE_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    setup_django_bench_db()
    try:
        from pyinstrument import Profiler

        from accounts import services as accounts
        from bench.registry import body, store_gauges
        from registry.models import Gauge

        org = accounts.organization_create(name="Bench", slug="bench")
        token = accounts.api_key_issue(
            organization=org, name="b", scopes=["gauges:write", "gauges:read", "scrape"], rate_limit="10000000/m"
        ).plaintext
        client = _client(token)
        if mode == "push":
            _fill_groups(org, 1000)
            requests = [("put", f"/metrics/job/bench/instance/host-{i % 1000:05d}", body(i + 1)) for i in range(500)]
            expect = 200
        elif mode == "inc":
            Gauge.objects.create(organization=org, name="bench_counter", labels_key="{}", identity="bench_counter{}")
            requests = [("put", "/api/v1/gauges/bench_counter/inc", b"")] * 500
            expect = 204
        else:
            _fill_groups(org, 5000)
            store_gauges(org)
            requests = [("get", "/metrics", b"")] * 5
            expect = 200
        method, path, data = requests[0]
        getattr(client, method)(path, data=data, content_type="text/plain")  # warm up
        profiler: Any = cProfile.Profile(time.process_time) if args.cpu else Profiler(interval=0.0005)
        started = time.perf_counter()
        with profiler:
            for method, path, data in requests:
                if method == "get":
                    response = client.get(path)
                else:
                    response = getattr(client, method)(path, data=data, content_type="text/plain")
                assert response.status_code == expect, (response.status_code, response.content[:300])
        elapsed = time.perf_counter() - started
        print(f"{mode}: {len(requests)} requests in {elapsed:.2f} s: {elapsed / len(requests) * 1000:.2f} ms each")
        print(f"load: {os.getloadavg()[0]:.2f}")
        if args.cpu:  # CPU seconds per function (waits on PostgreSQL and Redis excluded)
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(30)
            stats.sort_stats("cumulative").print_stats(r"registry|portal|accounts", 40)
        else:
            print(profiler.output_text(unicode=False, color=False, show_all=args.all))
    finally:
        drop_bench_db()


if __name__ == "__main__":
    main()
