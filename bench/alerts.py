"""One alert evaluation cycle: 20 rules over 10,000 devices, on the sql (PostgreSQL) and influx stores.

10 offline rules (one device SELECT each) and 10 threshold rules (one store query each: cpu per device,
disk per device and path, mem), 6 points per series in the 60 s window, 1 % of devices offline and 2 % over
each threshold, so every cycle also claims and sends. Printed: the first cycle (states created, messages
sent), then the median of the steady cycles that follow, against a raw baseline that only reads the same
data (psycopg for sql, InfluxQL over HTTP for influx) with no evaluation at all.

    .venv/bin/python bench/alerts.py [--devices 10000] [--cycles 5] [--backend sql|influx|both]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import drop_bench_db, machine, setup_django_bench_db

WINDOW = 60
POINTS_PER_SERIES = 6


def seed(devices: int, now: datetime) -> Any:
    from accounts import services as accounts
    from alerts.models import AlertRule
    from devices.models import Device

    org = accounts.organization_create(name="Bench")
    rows = []
    for i in range(devices):
        seen = now - timedelta(seconds=3600 if i % 100 == 7 else 5)
        rows.append(Device(organization=org, name=f"dev-{i:05d}", slug=f"dev-{i:05d}", last_seen_at=seen))
    Device.objects.bulk_create(rows, batch_size=2000)
    common = {"organization": org, "recipients": ["noc@example.com"]}
    for i in range(10):
        AlertRule.objects.create(name=f"offline {i}", kind="offline", grace_seconds=60 + i, **common)
    thresholds = (
        [("cpu", "usage", "", agg, 90.0) for agg in ("mean", "max", "last", "min")]
        + [("disk", "used", "path", agg, 95.0) for agg in ("last", "max", "mean", "min")]
        + [
            ("mem", "used_percent", "", "mean", 90.0),
            ("mem", "used_percent", "", "max", 90.0),
        ]
    )
    for i, (measurement, field, split, agg, value) in enumerate(thresholds):
        AlertRule.objects.create(
            name=f"threshold {i}", kind="threshold", measurement=measurement, field=field, split_by=split,
            aggregation=agg, window_seconds=WINDOW, operator=">", value=value, recovery_value=value - 10, **common,
        )  # fmt: skip
    return org


def points(devices: int, now: datetime) -> list[Any]:
    from timeseries import Point

    out = []
    end_ns = int(now.timestamp()) * 10**9
    for i in range(devices):
        hot = i % 50 == 3  # 2 % over every threshold
        name = f"dev-{i:05d}"
        for k in range(POINTS_PER_SERIES):
            t = end_ns - (k * 10 + 5) * 10**9
            out.append(Point("cpu", {"device": name, "cpu": "cpu-total"}, {"usage": 97.0 if hot else 20.0 + k}, t))
            out.append(Point("mem", {"device": name}, {"used_percent": 96.0 if hot else 40.0}, t))
            for path in ("/", "/data"):
                out.append(Point("disk", {"device": name, "path": path}, {"used": 99.0 if hot else 50.0}, t))
    return out


def cycle(now: datetime) -> tuple[float, int]:
    from alerts.evaluation import evaluate_all

    t0 = time.perf_counter()
    outcomes = evaluate_all(now=now)
    elapsed = time.perf_counter() - t0
    errors = [o.error for o in outcomes if o.error]
    if errors:
        raise SystemExit(f"evaluation errors: {errors[:3]}")
    return elapsed, sum(o.notifications for o in outcomes)


def raw_sql_baseline(org: Any, now: datetime) -> float:
    """The same reads, hand-written: devices' last_seen per offline rule, one aggregate per threshold rule."""
    from django.db import connection

    from alerts.models import AlertRule

    start_ns, end_ns = int((now - timedelta(seconds=WINDOW)).timestamp()) * 10**9, int(now.timestamp()) * 10**9
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for rule in AlertRule.objects.filter(organization=org).order_by("id"):
            if rule.kind == "offline":
                cursor.execute("SELECT id, last_seen_at FROM devices_device WHERE organization_id = %s", [org.id])
            else:
                cursor.execute(
                    "SELECT s.id, s.tags, MAX(p.value_float) FROM ingest_series s JOIN ingest_datapoint p "
                    "ON p.series_id = s.id WHERE s.tenant = %s AND s.measurement = %s AND p.field = %s "
                    "AND p.time_ns >= %s AND p.time_ns < %s GROUP BY s.id, s.tags",
                    [str(org.id), rule.measurement, rule.field, start_ns, end_ns],
                )
            cursor.fetchall()
    return time.perf_counter() - t0


def raw_influx_baseline(org: Any, now: datetime, url: str) -> float:
    from django.db import connection

    from alerts.models import AlertRule

    start_ns, end_ns = int((now - timedelta(seconds=WINDOW)).timestamp()) * 10**9, int(now.timestamp()) * 10**9
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for rule in AlertRule.objects.filter(organization=org).order_by("id"):
            if rule.kind == "offline":
                cursor.execute("SELECT id, last_seen_at FROM devices_device WHERE organization_id = %s", [org.id])
                cursor.fetchall()
                continue
            group = "device" + (f", {rule.split_by}" if rule.split_by else "")
            where = f"beacon_tenant = '{org.id}' AND time >= {start_ns} AND time < {end_ns}"
            q = f'SELECT {rule.aggregation}("{rule.field}") FROM "{rule.measurement}" WHERE {where} GROUP BY {group}'  # noqa: S608
            query = urllib.parse.urlencode({"db": "bench", "q": q, "epoch": "ns"})
            with urllib.request.urlopen(f"{url}/query?{query}", timeout=60) as response:
                response.read()
    return time.perf_counter() - t0


def run(backend: str, store: Any, devices: int, cycles: int, influx_url: str | None = None) -> None:
    from alerts.models import AlertState
    from devices.models import Device

    now = datetime.now(UTC).replace(microsecond=0)
    org = seed(devices, now)
    batch = points(devices, now)
    t0 = time.perf_counter()
    for i in range(0, len(batch), 5000):
        store.write(tenant=str(org.id), points=batch[i : i + 5000])
    print(f"  [{backend}] seeded {devices} devices, {len(batch)} points in {time.perf_counter() - t0:.1f} s")
    first, sent = cycle(now)
    firing = AlertState.objects.filter(state="firing").count()
    print(f"  [{backend}] first cycle: {first:.2f} s ({sent} notifications, {firing} states firing)")
    steady = []
    for k in range(1, cycles + 1):
        at = now + timedelta(seconds=k)  # devices keep their last_seen; the window slides by a second
        Device.objects.filter(organization=org).exclude(last_seen_at__lt=now - timedelta(seconds=600)).update(
            last_seen_at=at
        )
        elapsed, _ = cycle(at)
        steady.append(elapsed)
    baseline = raw_sql_baseline(org, now) if influx_url is None else raw_influx_baseline(org, now, influx_url)
    median = statistics.median(steady)
    print(
        f"  [{backend}] steady cycle: median {median:.2f} s, max {max(steady):.2f} s over {cycles}; "
        f"raw reads alone {baseline:.2f} s; ratio {median / baseline:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--backend", choices=["sql", "influx", "both"], default="both")
    args = parser.parse_args()
    print(f"Alert evaluation: 20 rules x {args.devices} devices on {machine()}")
    with open("/proc/loadavg") as f:
        print(f"  load before: {f.read().split()[:3]}")
    for backend in ("sql", "influx") if args.backend == "both" else (args.backend,):
        setup_django_bench_db()
        try:
            if backend == "sql":
                from django.conf import settings

                from timeseries import get_store, reset_store

                settings.TIMESERIES_BACKEND = "sql"
                reset_store()
                run("sql", get_store(), args.devices, args.cycles)
            else:
                from django.conf import settings

                from tests.servers import InfluxServer
                from timeseries import get_store, reset_store

                server = InfluxServer()
                try:
                    server.start()
                    server.create_database("bench")
                    settings.TIMESERIES_BACKEND = "influx"
                    settings.INFLUX_URL, settings.INFLUX_BUCKET, settings.INFLUX_DATABASE = server.url, "bench", "bench"
                    settings.INFLUX_TOKEN, settings.INFLUX_ORG, settings.INFLUX_TIMEOUT_MS = "", "o", 60_000
                    reset_store()
                    run("influx", get_store(), args.devices, args.cycles, influx_url=server.url)
                    reset_store()
                finally:
                    server.close()
        finally:
            drop_bench_db()
    with open("/proc/loadavg") as f:
        print(f"  load after: {f.read().split()[:3]}")


if __name__ == "__main__":
    main()
