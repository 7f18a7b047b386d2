"""Collectors: small functions reading /proc and statvfs, one per metric family.

Each collector is `fn(ctx) -> list[Point]`. Counters that need a previous sample
(cpu percentages, network rates) keep it in `ctx.state[<collector>]`; the first
call after start therefore yields fewer fields, like Telegraf's cpu plugin.
A collector that raises is logged and skipped by `collect_all`; it never stops the others.
"""

from __future__ import annotations

import logging
from typing import Callable, Dict, List, Tuple

from beacon_agent.collectors.cpu import collect_cpu
from beacon_agent.collectors.disk import collect_disk, collect_diskio
from beacon_agent.collectors.mem import collect_mem
from beacon_agent.collectors.net import collect_net
from beacon_agent.collectors.system import collect_load, collect_procs, collect_uptime
from beacon_agent.context import Context
from beacon_agent.lineprotocol import Point

log = logging.getLogger("beacon_agent.collectors")

Collector = Callable[[Context], List[Point]]

COLLECTORS: Dict[str, Collector] = {
    "cpu": collect_cpu,
    "mem": collect_mem,
    "disk": collect_disk,
    "diskio": collect_diskio,
    "net": collect_net,
    "load": collect_load,
    "uptime": collect_uptime,
    "procs": collect_procs,
}

__all__ = ["COLLECTORS", "Context", "collect_all"]


def collect_all(ctx: Context, names: List[str]) -> Tuple[List[Point], int]:
    """Run the named collectors; returns (points, number of collectors that failed)."""
    points: List[Point] = []
    failed = 0
    for name in names:
        try:
            points.extend(COLLECTORS[name](ctx))
        except Exception as exc:  # one broken collector must not stop the rest
            failed += 1
            log.warning("collector %s failed: %s: %s", name, type(exc).__name__, exc)
    return points, failed
