"""History query latency on >= 10M stored points: 8 devices x 30 fields x 30 days at 1-minute resolution.

Each query asks for one device's field over the 30 days with step = 30 d / 1000 (mean), i.e. a
1,000-point answer, through the store interface (what the history endpoint calls). Data is bulk-loaded
(Postgres generate_series; InfluxDB line protocol batches of 5,000 lines straight to /write), not row by row.

    .venv/bin/python bench/history.py [--queries 50] [--backend sql|influx|both]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import drop_bench_db, machine, percentiles, setup_django_bench_db

DEVICES = 8
FIELDS = 30
MINUTES = 30 * 24 * 60
START = datetime(2026, 10, 1, tzinfo=UTC)
START_S = int(START.timestamp())
END = START + timedelta(days=30)
STEP = (END - START) / 1000
TENANT = "1"
MEASUREMENT = "device_metrics"


def load_sql() -> float:
    from django.db import connection, transaction

    from timeseries.models import FieldType, Series
    from timeseries.sql import series_key

    started = time.perf_counter()
    FieldType.objects.bulk_create(
        [FieldType(tenant=TENANT, measurement=MEASUREMENT, field=f"f{i:02d}", kind="float") for i in range(FIELDS)]
    )
    ids = []
    for d in range(DEVICES):
        tags = {"device": f"dev-{d}"}
        series = Series.objects.create(
            tenant=TENANT, measurement=MEASUREMENT, tags=tags, key_hash=series_key(TENANT, MEASUREMENT, tags)
        )
        ids.append(series.id)
    # Rows in arrival order (time, then device, then field), as ingest interleaves them on disk.
    chunks = 10
    per_chunk = MINUTES // chunks
    for c in range(chunks):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ingest_datapoint (series_id, field, time_ns, value_float) "
                "SELECT s, 'f' || lpad(f::text, 2, '0'), (%s + m * 60)::bigint * 1000000000, "
                "50 + 40 * sin(m / 180.0 + f) + random() "
                "FROM generate_series(%s, %s) m, unnest(%s::bigint[]) s, generate_series(0, %s) f ORDER BY m, s, f",
                [START_S, c * per_chunk, (c + 1) * per_chunk - 1, ids, FIELDS - 1],
            )
        print(f"  sql: loaded {(c + 1) * per_chunk * DEVICES * FIELDS:,} points", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ingest_datapoint")  # autocommit: fresh visibility map and statistics
        cursor.execute(
            "SELECT count(*), pg_size_pretty(pg_total_relation_size('ingest_datapoint')) FROM ingest_datapoint"
        )
        count, size = cursor.fetchone()
    print(f"  sql: {count:,} points, table + index {size}, loaded in {time.perf_counter() - started:.0f} s")
    return time.perf_counter() - started


def load_influx(url: str, database: str) -> float:
    started = time.perf_counter()
    lines_done = 0
    for d in range(DEVICES):
        batch: list[str] = []
        for m in range(MINUTES):
            values = ",".join(f"f{i:02d}={50 + (m * 7 + i * 13) % 400 / 10}" for i in range(FIELDS))
            batch.append(f"{MEASUREMENT},beacon_tenant={TENANT},device=dev-{d} {values} {START_S + m * 60}")
            if len(batch) == 5000 or m == MINUTES - 1:
                body = "\n".join(batch).encode()
                request = urllib.request.Request(f"{url}/write?db={database}&precision=s", data=body, method="POST")
                with urllib.request.urlopen(request, timeout=120) as response:
                    assert response.status == 204, response.status
                lines_done += len(batch)
                batch = []
        print(f"  influx: loaded device {d + 1}/{DEVICES} ({lines_done * FIELDS:,} points)", flush=True)
    elapsed = time.perf_counter() - started
    print(
        f"  influx: {lines_done * FIELDS:,} points in {elapsed:.0f} s ({lines_done * FIELDS / elapsed:,.0f} values/s)"
    )
    return elapsed


def run_queries(store: object, count: int) -> dict[str, float]:
    rng = random.Random(42)
    samples = []
    sizes = set()
    for _ in range(count):
        device, field = f"dev-{rng.randrange(DEVICES)}", f"f{rng.randrange(FIELDS):02d}"
        t0 = time.perf_counter()
        result = store.query(  # type: ignore[attr-defined]
            tenant=TENANT,
            measurement=MEASUREMENT,
            fields=[field],
            start=START,
            end=END,
            tags={"device": device},
            step=STEP,
            agg="mean",
        )
        samples.append((time.perf_counter() - t0) * 1000)
        sizes.add(len(result[0].points))
    figures = percentiles(samples)
    figures["answer_points"] = max(sizes)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--backend", choices=["sql", "influx", "both"], default="both")
    parser.add_argument("--settle", type=int, default=30, help="seconds to wait after loading InfluxDB")
    args = parser.parse_args()
    total = DEVICES * FIELDS * MINUTES
    print(
        f"History latency: {total:,} points ({DEVICES} devices x {FIELDS} fields x 30 d @ 1 min), "
        f"{args.queries} queries of one device's field, step {STEP}, mean; on {machine()}"
    )
    setup_django_bench_db()
    results = {}
    try:
        if args.backend in ("sql", "both"):
            from timeseries.sql import SqlStore

            load_sql()
            store = SqlStore()
            run_queries(store, 3)  # warm the cache once, as a running portal would be
            results["sql"] = run_queries(store, args.queries)
        if args.backend in ("influx", "both"):
            from tests.servers import InfluxServer
            from timeseries.influx import InfluxStore

            server = InfluxServer()
            try:
                server.start()
                server.create_database("bench")
                load_influx(server.direct_url, "bench")
                # Let influxd snapshot its cache and compact, as a long-running server would have.
                print(f"  influx: settling {args.settle} s after the load", flush=True)
                time.sleep(args.settle)
                influx = InfluxStore(
                    url=server.url, token="", org="o", bucket="bench", database="bench", timeout_ms=60_000
                )
                direct = InfluxStore(
                    url=server.direct_url, token="", org="o", bucket="bench", database="bench", timeout_ms=60_000
                )
                run_queries(direct, 10)
                results["influx"] = run_queries(direct, args.queries)
                results["influx (via test proxy)"] = run_queries(influx, args.queries)
            finally:
                server.close()
    finally:
        drop_bench_db()
    for name, fig in results.items():
        print(
            f"{name:>24}: p50 {fig['p50']:.1f} ms  p95 {fig['p95']:.1f} ms  p99 {fig['p99']:.1f} ms  "
            f"({fig['answer_points']:.0f}-point answers)  target p95 < 50 ms: {'ok' if fig['p95'] < 50 else 'MISSED'}"
        )
    if "sql" in results and "influx" in results:
        print(f"  ratio sql/influx p95: {results['sql']['p95'] / results['influx']['p95']:.2f}")


if __name__ == "__main__":
    main()
