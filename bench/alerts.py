"""One alert evaluation cycle: 20 rules over 10,000 devices, on the sql (PostgreSQL) and influx stores.

10 offline rules (the devices read once per cycle) and 10 threshold rules over cpu per device, disk per device
and path, and mem (4 + 4 + 2 aggregations: 3 store queries), 6 points per series in the 60 s window, 1 % of
devices offline and 2 % over each threshold, so the first cycle claims and sends. Printed: the first cycle
(states created, messages sent), then the steady cycles that follow, each paired with a raw baseline that
only reads the same data by hand (psycopg on its own connection for sql, InfluxQL over HTTP with urllib for
influx; none of our code) with no evaluation at all: once with one query per rule, once with the rules
sharing a measurement read together (what the evaluation does). `--profile` adds a cProfile of one more steady cycle.

    .venv/bin/python bench/alerts.py [--devices 10000] [--cycles 5] [--backend sql|influx|both] [--profile]
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


AGG_SQL = {"mean": "AVG(p.value_float)", "min": "MIN(p.value_float)", "max": "MAX(p.value_float)",
           "last": "(array_agg(p.value_float ORDER BY p.time_ns DESC, p.series_id DESC))[1]"}  # fmt: skip


def _threshold_reads(org: Any) -> tuple[list[tuple[str, str, str, list[str]]], list[tuple[str, str, str, list[str]]]]:
    """(per rule, shared): (measurement, field, split_by, [aggregations]) of the bench's threshold rules, once per
    rule, and once per (measurement, field, split_by) with all of its rules' aggregations (what a user writing
    the reads by hand for these rules would do)."""
    from alerts.models import AlertRule

    per_rule, shared = [], {}  # type: ignore[var-annotated]
    for rule in AlertRule.objects.filter(organization=org, kind="threshold").order_by("id"):
        per_rule.append((rule.measurement, rule.field, rule.split_by, [rule.aggregation]))
        shared.setdefault((rule.measurement, rule.field, rule.split_by), []).append(rule.aggregation)
    return per_rule, [(m, f, s, aggs) for (m, f, s), aggs in shared.items()]


def _psycopg() -> Any:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"])


def _read_devices(conn: Any, org: Any, shared: bool) -> None:
    """The devices' last data: once (shared by the offline rules) or once per offline rule (10)."""
    for _ in range(1 if shared else 10):
        sql = "SELECT id, name, COALESCE(last_seen_at, created_at) FROM devices_device WHERE organization_id = %s"
        conn.execute(sql, [org.id]).fetchall()


def raw_baseline(org: Any, now: datetime, *, shared: bool, influx_url: str | None = None) -> float:
    """The same data read by hand, none of our code: the devices' last data with psycopg on its own connection,
    then per threshold rule (or, shared, per measurement with all of its rules' aggregations) one aggregate
    grouped by device: sql a `JOIN ... GROUP BY` with psycopg, influx InfluxQL over HTTP with urllib (JSON
    decoded, as any client must); every row fetched."""
    import json

    start_ns, end_ns = int((now - timedelta(seconds=WINDOW)).timestamp()) * 10**9, int(now.timestamp()) * 10**9
    per_rule, per_measurement = _threshold_reads(org)
    with _psycopg() as conn:
        t0 = time.perf_counter()
        _read_devices(conn, org, shared)
        for measurement, field, split, aggs in per_measurement if shared else per_rule:
            if influx_url is None:
                groups = "s.tags->>'device'" + (f", s.tags->>'{split}'" if split else "")
                selects = ", ".join(AGG_SQL[agg] for agg in aggs)
                conn.execute(
                    f"SELECT {groups}, {selects} FROM ingest_datapoint p JOIN ingest_series s ON s.id = p.series_id "  # noqa: S608
                    "WHERE s.tenant = %s AND s.measurement = %s AND p.field = %s AND p.time_ns >= %s "
                    f"AND p.time_ns < %s GROUP BY {groups}",
                    [str(org.id), measurement, field, start_ns, end_ns],
                ).fetchall()
                continue
            group = '"device"' + (f', "{split}"' if split else "")
            where = f"beacon_tenant = '{org.id}' AND time >= {start_ns} AND time < {end_ns}"
            selects = ", ".join(f'{agg}("{field}")' for agg in aggs)
            q = f'SELECT {selects} FROM "{measurement}" WHERE {where} GROUP BY {group}'  # noqa: S608
            query = urllib.parse.urlencode({"db": "bench", "q": q, "epoch": "ns"})
            with urllib.request.urlopen(f"{influx_url}/query?{query}", timeout=60) as response:
                json.loads(response.read())
        return time.perf_counter() - t0


def profiled_cycle(at: datetime, top: int = 25) -> None:
    """One more steady cycle under cProfile: the entries with the most own time, then the most cumulative."""
    import cProfile
    import io
    import pstats

    from alerts.evaluation import evaluate_all

    profiler = cProfile.Profile()
    profiler.enable()
    evaluate_all(now=at)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-8000:])


def run(
    backend: str, store: Any, devices: int, cycles: int, influx_url: str | None = None, profile: bool = False
) -> None:
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
    # Each steady cycle is followed at once by the two raw baselines: on a shared machine whose load swings,
    # the ratio of neighbours is steadier than a ratio of medians taken minutes apart.
    steady, per_rule, shared = [], [], []
    for k in range(1, cycles + 1):
        at = now + timedelta(seconds=k)  # devices keep their last_seen; the window slides by a second
        Device.objects.filter(organization=org).exclude(last_seen_at__lt=now - timedelta(seconds=600)).update(
            last_seen_at=at
        )
        elapsed, _ = cycle(at)
        steady.append(elapsed)
        per_rule.append(raw_baseline(org, at, shared=False, influx_url=influx_url))
        shared.append(raw_baseline(org, at, shared=True, influx_url=influx_url))
    if profile:
        profiled_cycle(now + timedelta(seconds=cycles + 1))
    ratios = [ours / raw for ours, raw in zip(steady, shared, strict=True)]
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(
        f"  [{backend}] steady cycle: median {statistics.median(steady):.2f} s, max {max(steady):.2f} s over {cycles}; "
        f"raw reads alone (medians): one query per rule {statistics.median(per_rule):.2f} s, shared per "
        f"measurement {statistics.median(shared):.2f} s; ratio to the shared raw reads of the same cycle: median "
        f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}); load {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--backend", choices=["sql", "influx", "both"], default="both")
    parser.add_argument("--profile", action="store_true", help="cProfile one more steady cycle and print the top")
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
                run("sql", get_store(), args.devices, args.cycles, profile=args.profile)
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
                    run("influx", get_store(), args.devices, args.cycles, influx_url=server.url, profile=args.profile)
                    reset_store()
                finally:
                    server.close()
        finally:
            drop_bench_db()
    with open("/proc/loadavg") as f:
        print(f"  load after: {f.read().split()[:3]}")


if __name__ == "__main__":
    main()
