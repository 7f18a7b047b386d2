"""Edge agent benchmark: footprint of `beacon-agent run` and spool replay rate after an outage.

    .venv/bin/python bench/agent.py [--duration 300] [--interval 10] [--replay-points 20000] [--target auto|portal|sink]

1. Footprint: the agent runs for --duration seconds at --interval with every collector, pushing
   to the portal; RSS is sampled from /proc/<pid>/status every second and CPU time read from
   /proc/<pid>/stat at the end. Targets (issue 4): RSS < 25 MB, CPU < 1 % of one core.
2. Replay: the spool is filled with --replay-points real collected points (one batch per 10 s
   round, as an outage would leave it), then the agent starts and the time until the spool is
   empty gives points/s, compared with the rate the agent produces points (the catch-up factor).

The target is the live portal (gunicorn + PostgreSQL, sql store) when this checkout has the write
endpoint, else a minimal local sink that answers 204; the output says which.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "agent"))

from beacon_agent.collectors import COLLECTORS, Context, collect_all  # noqa: E402
from beacon_agent.lineprotocol import encode_batch  # noqa: E402
from beacon_agent.spool import Counters, Spool  # noqa: E402

from tests.agent.live import AgentProcess, Portal, portal_root, postgres_available, write_endpoint_missing  # noqa: E402

RSS_TARGET_MB = 25.0
CPU_TARGET_PCT = 1.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Sink:
    """Stand-in when no portal is available: reads the body, answers 204."""

    def __init__(self) -> None:
        self.points = 0

        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                sink.points += body.count(b"\n")
                self.send_response(204)
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        after = fh.read().rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) / CLK_TCK  # utime, stime: fields 14 and 15


def footprint(url: str, key: str, workdir: Path, duration: float, interval: float) -> dict[str, float]:
    agent = AgentProcess(workdir / "footprint", url, key, "edge-01", interval=interval, flush_interval=interval)
    agent.start()
    assert agent.proc is not None
    pid = agent.proc.pid
    samples = []
    started = time.monotonic()
    cpu_at_10s = None
    while time.monotonic() - started < duration:
        time.sleep(1)
        samples.append(rss_kb(pid))
        if cpu_at_10s is None and time.monotonic() - started >= 10:
            cpu_at_10s = (cpu_seconds(pid), time.monotonic())
    cpu_total = cpu_seconds(pid)
    wall = time.monotonic() - started
    agent.terminate()
    steady = 0.0
    if cpu_at_10s is not None and wall > 10:
        steady = 100 * (cpu_total - cpu_at_10s[0]) / (started + wall - cpu_at_10s[1])
    return {
        "rss_mean_mb": statistics.mean(samples) / 1024,
        "rss_max_mb": max(samples) / 1024,
        "cpu_pct": 100 * cpu_total / wall,
        "cpu_steady_pct": steady,
        "cpu_seconds": cpu_total,
        "wall": wall,
        "errors": float(agent.log().count(" ERROR ") + agent.log().count("WARNING")),
    }


def replay(url: str, key: str, workdir: Path, points: int) -> dict[str, float]:
    ctx = Context()
    ctx.tick()
    collect_all(ctx, list(COLLECTORS))
    time.sleep(1)
    ctx.tick()
    round_points, _failed = collect_all(ctx, list(COLLECTORS))
    for p in round_points:
        p.tags = {**p.tags, "device": "edge-01"}
    per_round = len(round_points)
    rounds = max(1, points // per_round)
    agent = AgentProcess(workdir / "replay", url, key, "edge-01", interval=3600, flush_interval=3600)
    spool = Spool(str(agent.state_dir / "spool"), 1 << 30, 1 << 20, Counters(str(agent.state_dir / "counters.json")))
    now_ns = time.time_ns() - 60 * 1_000_000_000
    for i in range(rounds):  # oldest first, one 10 s round per record, like a real outage
        for p in round_points:
            p.time_ns = now_ns - (rounds - i) * 10 * 1_000_000_000
        body = encode_batch(round_points, "ms")
        spool.append(gzip.compress(body, 6), body.count(b"\n"))
    total = spool.points
    spool_bytes = spool.size_bytes
    seg_dir = agent.state_dir / "spool"
    started = time.monotonic()
    agent.start()
    while any(name.endswith(".seg") for name in os.listdir(seg_dir)):
        if time.monotonic() - started > 600:
            raise RuntimeError(f"replay did not finish in 600 s:\n{agent.log()[-2000:]}")
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    agent.terminate()
    return {
        "points": float(total),
        "spool_mb": spool_bytes / 1e6,
        "seconds": elapsed,
        "points_per_s": total / elapsed,
        "per_round": float(per_round),
        "outage_hours": rounds * 10 / 3600,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300.0, help="footprint run length in seconds (300)")
    parser.add_argument("--interval", type=float, default=10.0, help="collection interval in seconds (10)")
    parser.add_argument("--replay-points", type=int, default=20000, help="points spooled before replay (20000)")
    parser.add_argument("--target", choices=["auto", "portal", "sink"], default="auto")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    missing = write_endpoint_missing(portal_root()) or (None if postgres_available() else "PostgreSQL is not running")
    use_portal = args.target == "portal" or (args.target == "auto" and missing is None)
    portal = None
    if use_portal:
        portal = Portal(portal_root(), "beacon_bench_agent", workdir / "portal")
        portal.prepare()
        portal.start()
        tenant = portal.tenant("Bench")
        url, key, target = (
            portal.url,
            tenant.write_key,
            "live portal (gunicorn 1 worker x 4 threads, sql store on PostgreSQL)",
        )
    else:
        sink = Sink()
        url, key, target = sink.url, "bcn_bench_unused", f"minimal local 204 sink ({missing})"
    try:
        print(f"target: {target}")
        print(f"python: {sys.version.split()[0]}; cpus: {os.cpu_count()}")
        fp = footprint(url, key, workdir, args.duration, args.interval)
        print(f"\nfootprint: beacon-agent run, interval {args.interval:g} s, all collectors, {fp['wall']:.0f} s")
        print(
            f"  RSS mean {fp['rss_mean_mb']:.1f} MB, max {fp['rss_max_mb']:.1f} MB"
            f"   (target < {RSS_TARGET_MB:g} MB; ratio max/target {fp['rss_max_mb'] / RSS_TARGET_MB:.2f})"
        )
        print(
            f"  CPU {fp['cpu_pct']:.3f} % of one core overall, {fp['cpu_steady_pct']:.3f} % after start-up"
            f"   (target < {CPU_TARGET_PCT:g} %; ratio {fp['cpu_pct'] / CPU_TARGET_PCT:.2f})"
        )
        print(f"  CPU time {fp['cpu_seconds']:.2f} s; warnings/errors logged: {fp['errors']:.0f}")
        rp = replay(url, key, workdir, args.replay_points)
        produce_rate = rp["per_round"] / args.interval
        print(
            f"\nreplay: {rp['points']:.0f} spooled points ({rp['outage_hours']:.1f} h of outage at "
            f"{rp['per_round']:.0f} points per {args.interval:g} s round, {rp['spool_mb']:.2f} MB on disk)"
        )
        print(f"  drained in {rp['seconds']:.2f} s = {rp['points_per_s']:.0f} points/s")
        print(
            f"  catch-up factor vs the collection rate ({produce_rate:.1f} points/s): "
            f"{rp['points_per_s'] / produce_rate:.0f}x"
        )
    finally:
        if portal is not None:
            portal.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
