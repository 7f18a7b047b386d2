"""Scrape accounting and quota evaluation at scale, each against a raw baseline.

1. Parse + apply one Kong node's exposition of 10,000 bandwidth series (target < 0.5 s): the text parsed
   (prometheus_client's parser on the bandwidth lines, sanity checks), deltas against the node's snapshot,
   10,000 points to the sql store, UsagePeriod upserts for 2,500 services, snapshot saved; one transaction.
   Baseline: prometheus_client's text parser alone on the same text (no checks, no database).
2. Quota evaluation for 10,000 quotas with usage rows, none crossing (target < 2 s).
   Baseline: one raw SQL join computing every quota's percentage.

    .venv/bin/python bench/scrape.py [--series 10000] [--quotas 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import drop_bench_db, machine, setup_django_bench_db


def exposition(series: int, bump: int) -> str:
    """Kong 3.7 format: series/4 services x 2 routes x 2 directions."""
    lines = ["# HELP kong_bandwidth_bytes Total bandwidth", "# TYPE kong_bandwidth_bytes counter"]
    for i in range(series // 4):
        for route in ("a", "b"):
            for direction in ("ingress", "egress"):
                value = 1_000_000 + i * 10 + bump * (i % 97 + 1)
                lines.append(
                    f'kong_bandwidth_bytes{{service="svc-{i}",route="{route}",direction="{direction}",'
                    f'workspace="default",consumer=""}} {value}'
                )
    return "\n".join(lines) + "\n"


def timed(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_scrape(series: int, runs: int) -> None:
    from django.utils import timezone
    from prometheus_client.parser import text_string_to_metric_families

    from accounts.models import Organization
    from quotas.models import GatewayService, ScrapeTarget
    from quotas.scraping import ScrapeResult, exposition_apply

    org = Organization.objects.create(name="bench", slug="bench")
    GatewayService.objects.bulk_create(
        GatewayService(organization=org, name=f"svc-{i}", kong_service=f"svc-{i}") for i in range(series // 4)
    )
    target = ScrapeTarget.objects.create(organization=org, url="http://127.0.0.1:1/metrics")
    texts = [exposition(series, bump) for bump in range(runs + 1)]
    exposition_apply(target, texts[0], now=timezone.now(), result=ScrapeResult(target.id, True))  # baseline reading

    raw = timed(lambda: sum(len(f.samples) for f in text_string_to_metric_families(texts[1])), runs)
    readings = iter(texts[1:])
    results: list[ScrapeResult] = []

    def apply() -> None:
        result = ScrapeResult(target.id, True)
        exposition_apply(target, next(readings), now=timezone.now(), result=result)
        results.append(result)

    ours = timed(apply, runs)
    last = results[-1]
    assert last.series == series and last.points_written == series and len(last.service_ids) == series // 4
    print(f"parse + apply {series} series: {ours * 1000:.0f} ms median of {runs} (target < 500 ms)")
    print(f"  {last.points_written} store points, {len(last.service_ids)} services' usage upserted per scrape")
    print(f"  baseline, prometheus_client parser alone: {raw * 1000:.0f} ms -> ratio {ours / raw:.1f}x")


def bench_evaluation(count: int, runs: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Organization
    from quotas.evaluation import evaluate_quotas
    from quotas.models import GatewayService, Quota, UsagePeriod
    from quotas.periods import monthly_period

    org = Organization.objects.create(name="quota bench", slug="quota-bench")
    services = GatewayService.objects.bulk_create(
        GatewayService(organization=org, name=f"q-{i}", kong_service=f"q-{i}") for i in range(count)
    )
    Quota.objects.bulk_create(Quota(service=s, limit_bytes=10**9, recipients=[]) for s in services)
    start, end = monthly_period(timezone.now())
    UsagePeriod.objects.bulk_create(
        UsagePeriod(service=s, start=start, end=end, ingress_bytes=i, egress_bytes=i) for i, s in enumerate(services)
    )
    ours = timed(lambda: evaluate_quotas(organization_id=org.id), runs)
    sql = f"""
        SELECT q.id, 100.0 * (u.ingress_bytes + u.egress_bytes) / q.limit_bytes
        FROM {Quota._meta.db_table} q
        JOIN {GatewayService._meta.db_table} s ON s.id = q.service_id AND s.organization_id = %s
        LEFT JOIN {UsagePeriod._meta.db_table} u ON u.service_id = q.service_id AND u.start = %s AND u."end" = %s
    """  # noqa: S608 (table names from our own models)

    def raw() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [org.id, start, end])
            assert len(cursor.fetchall()) == count

    base = timed(raw, runs)
    print(f"quota evaluation, {count} quotas: {ours * 1000:.0f} ms median of {runs} (target < 2000 ms)")
    print(f"  baseline, one raw SQL join of quotas and usage: {base * 1000:.0f} ms -> ratio {ours / base:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--quotas", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    setup_django_bench_db()
    try:
        bench_scrape(args.series, args.runs)
        bench_evaluation(args.quotas, args.runs)
    finally:
        drop_bench_db()


if __name__ == "__main__":
    main()
