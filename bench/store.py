"""Direct store writes: field values/s for 5,000-line batches (5 fields each), sql (Postgres) and influx.

Importable by bench/ingest.py: `make_batches()` and `measure_direct_writes(store, batches)` give the
"direct store" baseline the API is compared with.

    .venv/bin/python bench/store.py [--batches 10] [--backend sql|influx|both]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import drop_bench_db, machine, setup_django_bench_db

LINES = 5_000
FIELDS = 5


def make_batches(
    count: int, *, lines: int = LINES, fields: int = FIELDS, devices: int = 50, start_ns: int | None = None
) -> list[list[Any]]:
    """`count` batches of `lines` points: `devices` series, one point per device per second, `fields` floats each."""
    from timeseries import Point

    start = start_ns if start_ns is not None else (time.time_ns() // 10**9 - 86_400) * 10**9
    batches = []
    seq = 0
    for _ in range(count):
        batch = []
        for _ in range(lines):
            device, tick = seq % devices, seq // devices
            values = {f"f{i}": float((seq * 7 + i) % 1000) / 10 for i in range(fields)}
            batch.append(Point("bench", {"device": f"dev-{device:03d}", "site": "lab"}, values, start + tick * 10**9))
            seq += 1
        batches.append(batch)
    return batches


def measure_direct_writes(store: Any, batches: list[list[Any]], *, tenant: str = "1") -> dict[str, float]:
    """Write every batch with store.write; return field values/s and per-batch latency figures."""
    latencies = []
    values = 0
    started = time.perf_counter()
    for batch in batches:
        t0 = time.perf_counter()
        store.write(tenant=tenant, points=batch)
        latencies.append((time.perf_counter() - t0) * 1000)
        values += sum(len(p.fields) for p in batch)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "values_per_s": values / elapsed,
        "lines_per_s": sum(len(b) for b in batches) / elapsed,
        "batch_ms_p50": latencies[len(latencies) // 2],
        "batch_ms_max": latencies[-1],
        "seconds": elapsed,
    }


def _report(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:>7}: {figures['values_per_s']:>10,.0f} field values/s  {figures['lines_per_s']:>8,.0f} lines/s  "
        f"batch p50 {figures['batch_ms_p50']:.0f} ms, max {figures['batch_ms_max']:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--backend", choices=["sql", "influx", "both"], default="both")
    args = parser.parse_args()
    print(f"Direct store writes, {args.batches} batches x {LINES} lines x {FIELDS} fields on {machine()}")
    setup_django_bench_db()
    try:
        results = {}
        if args.backend in ("sql", "both"):
            from timeseries.sql import SqlStore

            store = SqlStore()
            store.write(tenant="1", points=make_batches(1, lines=10)[0])  # warm-up: connection, field types
            results["sql"] = measure_direct_writes(store, make_batches(args.batches))
            _report("sql", results["sql"])
        if args.backend in ("influx", "both"):
            from tests.servers import InfluxServer
            from timeseries.influx import InfluxStore

            server = InfluxServer()
            try:
                server.start()
                server.create_database("bench")
                influx = InfluxStore(
                    url=server.url, token="", org="o", bucket="bench", database="bench", timeout_ms=60_000
                )
                influx.write(tenant="1", points=make_batches(1, lines=10)[0])
                results["influx"] = measure_direct_writes(influx, make_batches(args.batches))
                _report("influx", results["influx"])
                influx.close()
            finally:
                server.close()
        if len(results) == 2:
            print(f"  ratio influx/sql: {results['influx']['values_per_s'] / results['sql']['values_per_s']:.2f}")
    finally:
        drop_bench_db()


if __name__ == "__main__":
    main()
