"""Soak (not CI): N minutes of a realistic load on loopback; error rate, p50/p99, RSS growth of every process.

Load, every `--interval` seconds (default 10): one push per device (`--devices`, default 500) to
/api/v2/write (one line, 5 fields), spread evenly over the interval by `--clients` threads; plus reads
(/api/v1/history of 5 devices, /api/v1/status, /api/v1/services/) and, through a real Celery worker + beat,
the quotas scrape of a Kong-format exporter (quotas.simulator, 20 services whose counters grow each tick)
every interval. Server: gunicorn -w 2 gthread --threads 4 (DEBUG=0), PostgreSQL (sql store), Redis (cache
db 11, broker db 12 under a prefix of its own; SOAK_REDIS_DB=N puts both in db N).

    .venv/bin/python bench/soak.py [--minutes 10] [--devices 500] [--interval 10] [--clients 8]

RSS: VmRSS of each gunicorn worker and each Celery process, after a two-interval warm-up and at the end;
growth = end - start per process. Machine load: os.getloadavg() at start and end, printed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("BENCH_DB", "beacon_soak")

from bench._common import BENCH_DB, PG_ADMIN_URL, ROOT, drop_bench_db, machine, percentiles, setup_django_bench_db
from bench.ingest import Gunicorn, settings_pepper

# Redis dbs shared with other checkouts' runs: SOAK_REDIS_DB picks another (the broker works under a prefix).
_DB = int(os.environ.get("SOAK_REDIS_DB", "11"))
CACHE_URL = f"redis://127.0.0.1:6379/{_DB}"
BROKER_URL = f"redis://127.0.0.1:6379/{os.environ.get('SOAK_REDIS_DB', '12')}"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[str, Counter[int]] = {}

    def record(self, kind: str, status: int, ms: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)
            self.statuses.setdefault(kind, Counter())[status] += 1


def request(port: int, method: str, path: str, token: str, body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 599  # connection failure, counted as an error
    finally:
        conn.close()


def pusher(port: int, token: str, devices: list[int], interval: float, stop: float, stats: Stats) -> None:
    """Each of `devices` pushes once per interval, evenly spread, until `stop` (monotonic)."""
    gap = interval / max(1, len(devices))
    next_at = time.monotonic()
    while time.monotonic() < stop:
        for device in devices:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at += gap
            line = (
                f"edge,device=dev-{device:04d} cpu=1.5,mem=40.2,disk=70.1,load=0.3,temp={device % 60} {time.time_ns()}"
            )
            t0 = time.perf_counter()
            status = request(port, "POST", "/api/v2/write", token, line.encode())
            stats.record("write", status, (time.perf_counter() - t0) * 1000)


def reader(port: int, token: str, interval: float, stop: float, stats: Stats) -> None:
    paths = [f"/api/v1/history?device=dev-{d:04d}&field=cpu&start=-15m" for d in range(5)]
    paths += ["/api/v1/status", "/api/v1/services/"]
    time.sleep(interval)  # the devices register with their first push
    while time.monotonic() < stop:
        started = time.monotonic()
        for path in paths:
            t0 = time.perf_counter()
            status = request(port, "GET", path, token)
            stats.record("read", status, (time.perf_counter() - t0) * 1000)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    prefix = f"beacon-soak-{uuid.uuid4().hex[:8]}:"
    os.environ.update(CACHE_URL=CACHE_URL, TIMESERIES_BACKEND="sql", SCRAPE_ALLOW_PRIVATE="1")
    setup_django_bench_db()
    import redis

    from accounts import services as accounts
    from accounts.scopes import registered_scopes
    from portal.periodic_tasks import periodic_tasks_sync
    from quotas.models import GatewayService, Quota, ScrapeTarget
    from quotas.simulator import KongNode

    org = accounts.organization_create(name="Soak", slug="soak")
    token = accounts.api_key_issue(
        organization=org, name="soak", scopes=list(registered_scopes()), rate_limit="10000000/m"
    ).plaintext
    node = KongNode("3.7")
    node_url = node.start()
    services = [f"svc-{i:02d}" for i in range(20)]
    for name in services:
        service = GatewayService.objects.create(organization=org, name=name, kong_service=name)
        Quota.objects.create(service=service, period="daily", limit_bytes=10**15, recipients=["noc@example.com"])
        node.add(name, "r", "egress", 1)
    target = ScrapeTarget.objects.create(organization=org, url=node_url, interval_seconds=int(args.interval))
    periodic_tasks_sync(
        definitions={"quotas-scrape-due": {"task": "quotas.scrape_due", "schedule": int(args.interval)}}
    )

    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CACHE_URL", "REDIS_URL"}},
        "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{BENCH_DB}",
        "DEBUG": "0",
        "SECRET_KEY": "soak-only-not-secret-" + "x" * 40,
        "API_KEY_PEPPER": settings_pepper(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": CACHE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "BEACON_TEST_BROKER_KEYPREFIX": prefix,
        "DJANGO_SETTINGS_MODULE": "tests.celery_settings",  # portal.settings + the broker key prefix
        "SCRAPE_ALLOW_PRIVATE": "1",
        "LOG_DIR": str(ROOT / "var" / "bench-logs"),
    }
    celery = str(ROOT / ".venv" / "bin" / "celery")
    log = open(ROOT / "var" / "bench-celery.log", "ab")  # noqa: SIM115 (open while the processes run)
    worker = subprocess.Popen(
        [celery, "-A", "portal", "worker", "-c", "1", "-l", "WARNING"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    beat = subprocess.Popen(
        [celery, "-A", "portal", "beat", "-l", "WARNING", "-s", str(ROOT / "var" / "soak-beat")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    stats = Stats()
    stop_node = threading.Event()

    def grow_counters() -> None:  # traffic through the gateway between scrapes
        while not stop_node.wait(args.interval / 2):
            for name in services:
                node.add(name, "r", "egress", 1000)

    threading.Thread(target=grow_counters, daemon=True).start()
    load_start = os.getloadavg()
    try:
        with Gunicorn(env, workers=2, threads=4) as server:
            port = server.port
            stop = time.monotonic() + args.minutes * 60
            shards = [list(range(args.devices))[i :: args.clients] for i in range(args.clients)]
            threads = [
                threading.Thread(target=pusher, args=(port, token, shard, args.interval, stop, stats))
                for shard in shards
            ]
            threads.append(threading.Thread(target=reader, args=(port, token, args.interval, stop, stats)))
            for thread in threads:
                thread.start()
            time.sleep(min(args.interval * 2, args.minutes * 30))  # warm-up: imports, connections, memos
            pids = {f"gunicorn worker {pid}": pid for pid in children(server.proc.pid)}
            pids.update({f"celery worker {pid}": pid for pid in [worker.pid, *children(worker.pid)]})
            pids[f"celery beat {beat.pid}"] = beat.pid
            rss_start = {name: rss_kib(pid) for name, pid in pids.items()}
            for thread in threads:
                thread.join()
            rss_end = {name: rss_kib(pid) for name, pid in pids.items()}
        load_end = os.getloadavg()
    finally:
        stop_node.set()
        for process in (beat, worker):
            process.terminate()
            process.wait(timeout=30)
        node.stop()
        client = redis.Redis.from_url(BROKER_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)

    target.refresh_from_db()
    from quotas.models import UsagePeriod

    counted = sum(
        u.egress_bytes for u in UsagePeriod.objects.filter(service__organization=org, end__gt=target.created_at)
    )
    print(f"Soak: {args.minutes:g} min, {args.devices} devices every {args.interval:g} s, {args.clients} clients")
    print(f"machine: {machine()}; load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f}")
    for kind in ("write", "read"):
        latencies, statuses = stats.latencies.get(kind, []), stats.statuses.get(kind, Counter())
        total = sum(statuses.values())
        ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
        marks = percentiles(latencies) if latencies else {"p50": 0.0, "p99": 0.0}
        rate, errors = total / (args.minutes * 60), total - ok
        print(
            f"{kind}: {total} requests ({rate:.1f}/s), errors {errors} ({100 * errors / max(1, total):.3f} %),"
            f" p50 {marks['p50']:.1f} ms, p99 {marks['p99']:.1f} ms, statuses {dict(statuses)}"
        )
    print(
        f"scrapes: target last success {target.last_success_at}, last error {target.last_error!r}; "
        f"bytes counted (day + month periods) {counted}"
    )
    for name in rss_start:
        growth = rss_end[name] - rss_start[name]
        print(f"RSS {name}: {rss_start[name] / 1024:.1f} -> {rss_end[name] / 1024:.1f} MiB ({growth / 1024:+.1f} MiB)")
    drop_bench_db()


if __name__ == "__main__":
    main()
