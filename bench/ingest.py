"""Batch ingest, three ways in one run: the API, the store's own write(), and a raw psycopg COPY.

Each round writes one new 5,000-line x 5-float-field batch (50 devices, one point per device per second)
three ways, interleaved so the three see the same machine load:

- API: the batch as line protocol, POSTed to /api/v2/write on the production gunicorn line
  (bench/_server.py: docs/operations.md, access log on), keep-alive connection; 204 = stored.
- store: `get_store().write()` of the same kind of points in this process (what the view calls, no HTTP,
  no parsing).
- raw COPY: psycopg binary COPY of the same values as narrow rows (series_id, field, time_ns, value_float),
  already built as tuples, into a TEMPORARY table of the same shape with the same primary-key index
  (`LIKE ingest_datapoint INCLUDING ALL`), one transaction per batch: the floor of what Postgres can take.

Ratios: API / raw COPY (target >= 0.5, issue 13) and store / raw COPY, per round. One batch takes ~0.1-0.2 s,
so a single round swings with the other tenants of a shared box: `--warmup` full-size rounds run first
(uncounted: first COPY into a fresh table, first big body of each worker thread), and the headline is the
median of the rounds' ratios, with the ratio of the summed times beside it.

    BENCH_DB=beacon_bench_ingest .venv/bin/python bench/ingest.py [--rounds 30] [--warmup 3] [--workers 2]
        [--threads 4] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import BENCH_DB, PG_ADMIN_URL, drop_bench_db, machine, setup_django_bench_db
from bench._server import REDIS_URL, Gunicorn, bench_key, server_env, uptime
from bench.store import FIELDS, LINES, make_batches

NS = 1_000_000_000
VALUES = LINES * FIELDS


def to_line_protocol(batch: list[Any]) -> bytes:
    from ingest.lineprotocol import format_line

    return "\n".join(format_line(p.measurement, dict(p.tags), dict(p.fields), p.time_ns) for p in batch).encode()


def api_write(conn: http.client.HTTPConnection, token: str, body: bytes, *, gzipped: bool) -> float:
    headers = {"Authorization": f"Token {token}", "Content-Type": "text/plain; charset=utf-8"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    started = time.perf_counter()
    conn.request("POST", "/api/v2/write?precision=ns", body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 204:
        raise RuntimeError(f"API answered {response.status}: {data[:300]!r}")
    return elapsed


def raw_copy(raw: Any, rows: list[tuple[int, str, int, float]]) -> float:
    started = time.perf_counter()
    with (
        raw.transaction(),
        raw.cursor().copy(
            "COPY raw_points (series_id, field, time_ns, value_float) FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["int8", "text", "int8", "float8"])
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3, help="full-size rounds run first and not counted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--gzip", action="store_true", help="send the API bodies gzipped (level 1)")
    args = parser.parse_args()
    os.environ.update(CACHE_URL=REDIS_URL, TIMESERIES_BACKEND="sql")
    setup_django_bench_db()
    import psycopg

    from accounts.models import Organization
    from timeseries.sql import SqlStore, _series_keys

    token = bench_key()
    tenant = str(Organization.objects.get(slug="bench").id)
    store = SqlStore()
    day = 86_400 * NS
    base = (time.time_ns() // NS - 3 * 86_400) * NS
    # Three disjoint time ranges (api, store, raw), every batch new points: the common case of ingest.
    total = args.warmup + args.rounds
    api_batches = make_batches(total, start_ns=base)
    store_batches = make_batches(total, start_ns=base + day)
    raw_batches = make_batches(total, start_ns=base + 2 * day)
    bodies = [to_line_protocol(b) for b in api_batches]
    if args.gzip:
        bodies = [gzip.compress(b, compresslevel=1) for b in bodies]
    store.write(tenant=tenant, points=make_batches(1, lines=50, start_ns=base - 3600 * NS)[0])  # series + types
    ids = store._series_ids
    raw_rows = [
        [
            (ids[key], name, p.time_ns, value)
            for p, key in zip(b, _series_keys(tenant, b), strict=True)
            for name, value in p.fields.items()
        ]
        for b in raw_batches
    ]
    raw = psycopg.connect(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{BENCH_DB}", autocommit=True)
    raw.execute("CREATE TEMPORARY TABLE raw_points (LIKE ingest_datapoint INCLUDING ALL)")
    rounds = []
    try:
        with Gunicorn(server_env(), workers=args.workers, threads=args.threads) as server:
            print(
                f"Batches: {LINES:,} lines x {FIELDS} fields ({VALUES:,} values), {args.rounds} rounds; API on "
                f"gunicorn {server.describe}{', gzip bodies' if args.gzip else ''}; on {machine()}"
            )
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            warm = make_batches(2 * args.workers * args.threads, lines=50, start_ns=base - 7200 * NS)
            for batch in warm:  # every worker thread: connection, memos
                api_write(conn, token, to_line_protocol(batch), gzipped=False)
            for number in range(-args.warmup, args.rounds):
                load = uptime()
                batch = number + args.warmup
                a = api_write(conn, token, bodies[batch], gzipped=args.gzip)
                t0 = time.perf_counter()
                store.write(tenant=tenant, points=store_batches[batch])
                s = time.perf_counter() - t0
                r = raw_copy(raw, raw_rows[batch])
                if number < 0:
                    continue
                rounds.append((number + 1, load, VALUES / a, VALUES / s, VALUES / r))
                print(
                    f"round {number + 1} ({load}): API {VALUES / a:,.0f} values/s, store {VALUES / s:,.0f}, "
                    f"raw COPY {VALUES / r:,.0f}; API/COPY {r / a:.2f}, store/COPY {r / s:.2f}",
                    flush=True,
                )
            conn.close()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM ingest_datapoint WHERE time_ns >= %s AND time_ns < %s", [base, base + day]
            )
            stored = cursor.fetchone()[0]
    finally:
        raw.close()
        drop_bench_db()
    assert stored == total * VALUES, f"API stored {stored} values, expected {total * VALUES}"
    best = max(rounds, key=lambda r: r[2] / r[4])
    print()
    print(
        "| round | load (1/5/15 min) | API values/s | store.write values/s | raw COPY values/s "
        "| API/COPY | store/COPY |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for number, load, a, s, r in rounds:
        print(
            f"| {number}{' (best)' if number == best[0] else ''} | {load.split(': ')[1]} | {a:,.0f} | {s:,.0f} "
            f"| {r:,.0f} | {a / r:.2f} | {s / r:.2f} |"
        )
    ratios = sorted(a / r for _, _, a, _, r in rounds)
    store_ratios = sorted(s / r for _, _, _, s, r in rounds)
    summed = sum(1 / r for *_, r in rounds) / sum(1 / a for _, _, a, _, _ in rounds)  # total COPY time / API time
    print(
        f"\nAPI/COPY median {statistics.median(ratios):.2f} (quartiles {ratios[len(ratios) // 4]:.2f}-"
        f"{ratios[3 * len(ratios) // 4]:.2f}, summed times {summed:.2f}, best {ratios[-1]:.2f}); store/COPY median "
        f"{statistics.median(store_ratios):.2f}; stored {stored:,} values via the API ({args.warmup} warm-up rounds)"
    )
    print("Target: API >= 0.5 x raw COPY (same round).")


if __name__ == "__main__":
    main()
