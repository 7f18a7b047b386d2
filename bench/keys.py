"""API-key verification cost on PostgreSQL.

Measures, per call:
  (a) accounts.services.api_key_authenticate end to end (parse, SELECT by key id, HMAC digest, compare);
  (a') the same with the per-process memory of successful checks on (accounts/key_cache.py);
  (b) the digest + constant-time compare alone (no database);
  (c) the baseline: a plain primary-key SELECT of the same ApiKey row.
Prints mean/p50/p99 in microseconds and the ratios (a)/(c) and (b)/(c).

Run: DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/beacon_bench_keys .venv/bin/python bench/keys.py
The script creates that database, migrates it, and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/beacon_bench_keys")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import psycopg

WARMUP = 200
CALLS = int(os.environ.get("BENCH_CALLS", "3000"))


def _admin_dsn(url: str) -> tuple[str, str]:
    """Return (DSN of the maintenance db 'postgres', name of the bench db)."""
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    return parsed._replace(path="/postgres").geturl(), name


def _recreate(url: str, *, drop_only: bool = False) -> None:
    dsn, name = _admin_dsn(url)
    if not name.startswith("beacon_bench"):
        raise SystemExit(f"Refusing to create/drop {name!r}: the bench database name must start with beacon_bench.")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _measure(fn: Callable[[], object]) -> list[float]:
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def _row(label: str, samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    stats = {
        "mean": statistics.fmean(samples),
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }
    print(f"{label:<62} {stats['mean']:>9.1f} {stats['p50']:>9.1f} {stats['p99']:>9.1f}")
    return stats


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/beacon_bench_keys"
    _recreate(url)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _run()
    finally:
        from django.db import connections

        connections.close_all()
        _recreate(url, drop_only=True)


def _run() -> None:
    from django.db import connection

    from accounts import keys
    from accounts import services as accounts
    from accounts.models import ApiKey

    org = accounts.organization_create(name="Bench")
    issued = accounts.api_key_issue(organization=org, name="bench", scopes=["metrics:write"])
    parsed = keys.parse(issued.plaintext)
    assert parsed is not None
    pk = issued.api_key.pk
    stored = issued.api_key.digest
    accounts.api_key_authenticate(issued.plaintext)  # sets last_used_at; later calls skip the UPDATE for 60 s

    from django.conf import settings

    from accounts import key_cache

    def authenticate() -> None:
        # (a) is the database path: the per-process memory of successful checks is off for it.
        settings.API_KEY_CACHE_SECONDS = 0
        assert accounts.api_key_authenticate(issued.plaintext) is not None

    def authenticate_remembered() -> None:
        settings.API_KEY_CACHE_SECONDS = 3600
        assert accounts.api_key_authenticate(issued.plaintext) is not None

    def digest_compare() -> None:
        assert keys.matches(parsed.secret, stored)

    def pk_select() -> None:
        assert ApiKey.objects.get(pk=pk).pk == pk

    table = connection.ops.quote_name(ApiKey._meta.db_table)
    raw_pk_sql = f"SELECT * FROM {table} WHERE id = %s"  # noqa: S608 - table name from model metadata

    def raw_pk_select() -> None:
        with connection.cursor() as cursor:
            cursor.execute(raw_pk_sql, [pk])
            assert cursor.fetchone() is not None

    def round_trip() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    print(f"API-key verification, {CALLS} calls each after {WARMUP} warm-up calls; times in µs per call")
    print(f"{'':<62} {'mean':>9} {'p50':>9} {'p99':>9}")
    base = _row("(c) baseline: ORM ApiKey.objects.get(pk=...)", _measure(pk_select))
    raw = _row("(c') baseline: raw cursor SELECT * ... WHERE id = %s", _measure(raw_pk_select))
    full = _row("(a) api_key_authenticate (SELECT + HMAC + compare)", _measure(authenticate))
    key_cache.clear()
    _row("(a') api_key_authenticate, remembered (API_KEY_CACHE_SECONDS)", _measure(authenticate_remembered))
    dig = _row("(b) HMAC-SHA256 digest + compare_digest only", _measure(digest_compare))
    _row("(d) context: raw cursor SELECT 1 (server round trip)", _measure(round_trip))
    print(f"ratio (a)/(c) mean: {full['mean'] / base['mean']:.2f}x   p50: {full['p50'] / base['p50']:.2f}x")
    print(f"ratio (a)/(c') mean: {full['mean'] / raw['mean']:.2f}x   p50: {full['p50'] / raw['p50']:.2f}x")
    print(f"ratio (b)/(c) mean: {dig['mean'] / base['mean']:.3f}x")
    verdict = "OK" if full["mean"] < 1000 else "OVER"
    print(f"target: (a) mean < 1000 µs -> {verdict} (mean {full['mean']:.0f} µs, p99 {full['p99']:.0f} µs)")


if __name__ == "__main__":
    main()
