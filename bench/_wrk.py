"""Drive small pushes with wrk (keep-alive, C client) when it is installed: see bench/wrk_push.lua."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk_push.lua")
_RESULT = re.compile(r"BENCH (.*)")


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    port: int,
    token: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    health_only: bool = False,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    """{"pushes_per_s", "p50", "p99"} (ms) for keep-alive POSTs (or GET /health) from one wrk process.

    `env` picks another request mix of the script (BENCH_MODE, BENCH_SIZE: bench/wrk_push.lua).
    """
    wrk = wrk_path()
    assert wrk is not None
    url = f"http://127.0.0.1:{port}" + ("/health" if health_only else "/api/v2/write")
    # The same script prints the summary line; for /health its request() is not used (no init bodies needed).
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "-s", str(SCRIPT)]
    env = {**os.environ, **(env or {}), "BENCH_TOKEN": token}
    if health_only:
        env["BENCH_WRK_GET"] = "1"
    done = subprocess.run([*command, url], env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    match = _RESULT.search(done.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no summary: {done.stdout[-500:]} {done.stderr[-500:]}")
    values = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    if values["status_errors"] or values["socket_errors"]:
        raise RuntimeError(f"wrk saw errors: {values}")
    return {
        "pushes_per_s": values["requests"] / (values["duration_us"] / 1e6),
        "requests": values["requests"],
        "p50": values["p50_us"] / 1000,
        "p99": values["p99_us"] / 1000,
    }
