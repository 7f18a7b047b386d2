#!/usr/bin/env python3
"""Push fake edge metrics for the demo devices every few seconds (standard library only).

Stands in for the edge agent during `make demo` so /api/v1/history has live data.
Reads BEACON_URL and BEACON_DEMO_WRITE_KEY from the environment, else from the keys
file that `manage.py demo_seed` writes (var/demo-keys.env, lines `NAME=value`).

    python scripts/demo_pusher.py [--interval 5] [--devices edge-01,edge-02] [--once]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_KEYS_FILE = Path(__file__).resolve().parent.parent / "var" / "demo-keys.env"


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip().strip("'\"")
    return values


class FakeDevice:
    """A smooth random walk per metric, so charts look like a machine, not noise."""

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.rng = random.Random(seed)
        self.cpu = self.rng.uniform(10, 40)
        self.mem = self.rng.uniform(30, 60)
        self.disk = self.rng.uniform(20, 70)
        self.started = time.time()

    def sample(self) -> dict[str, object]:
        rng = self.rng
        self.cpu = min(100.0, max(0.0, self.cpu + rng.gauss(0, 4)))
        self.mem = min(100.0, max(5.0, self.mem + rng.gauss(0, 1)))
        self.disk = min(100.0, self.disk + rng.uniform(0, 0.01))
        return {
            "device": self.name,
            "timestamp": time.time(),
            "measurement": "edge",
            "metrics": {
                "cpu_percent": round(self.cpu, 2),
                "mem_percent": round(self.mem, 2),
                "disk_percent": round(self.disk, 3),
                "load1": round(self.cpu / 25 + abs(rng.gauss(0, 0.1)), 2),
                "temp_c": round(45 + self.cpu / 5 + 3 * math.sin(time.time() / 300), 1),
                "uptime_s": int(time.time() - self.started),
            },
            "tags": {"source": "demo-pusher"},
        }


def push(url: str, key: str, items: list[dict[str, object]], timeout: float = 10.0) -> tuple[int, float]:
    """POST one JSON batch (gzip); return (status, seconds to wait before the next try)."""
    body = gzip.compress(json.dumps(items).encode())
    request = urllib.request.Request(  # noqa: S310 - main() only accepts http(s) URLs
        url.rstrip("/") + "/api/v1/metrics",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL from our own config
            return response.status, 0.0
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        retry = float(exc.headers.get("Retry-After") or 0)
        print(f"demo_pusher: HTTP {exc.code}: {detail}", file=sys.stderr)
        return exc.code, retry
    except OSError as exc:
        print(f"demo_pusher: cannot reach {url}: {exc}", file=sys.stderr)
        return 0, 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between pushes (default 5)")
    parser.add_argument("--devices", default="edge-01,edge-02", help="comma-separated device names")
    parser.add_argument("--keys-file", type=Path, default=DEFAULT_KEYS_FILE)
    parser.add_argument("--once", action="store_true", help="push one batch and exit (0 if stored)")
    args = parser.parse_args(argv)

    file_values = read_env_file(args.keys_file)
    url = os.environ.get("BEACON_URL") or file_values.get("BEACON_URL") or "http://127.0.0.1:8000"
    key = os.environ.get("BEACON_DEMO_WRITE_KEY") or file_values.get("BEACON_DEMO_WRITE_KEY")
    if not url.startswith(("http://", "https://")):
        print(f"demo_pusher: BEACON_URL must start with http:// or https://, not {url!r}", file=sys.stderr)
        return 2
    if not key:
        print(
            f"demo_pusher: no BEACON_DEMO_WRITE_KEY in the environment or {args.keys_file}; "
            "run `python manage.py demo_seed` first",
            file=sys.stderr,
        )
        return 2
    devices = [FakeDevice(name, seed) for seed, name in enumerate(n.strip() for n in args.devices.split(",") if n)]
    running = True

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"demo_pusher: pushing {len(devices)} device(s) to {url} every {args.interval:g} s", file=sys.stderr)
    while running:
        status, retry_after = push(url, key, [d.sample() for d in devices])
        if args.once:
            return 0 if status == 204 else 1
        wait = max(args.interval, retry_after)
        deadline = time.monotonic() + wait
        while running and time.monotonic() < deadline:
            time.sleep(min(0.5, deadline - time.monotonic()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
