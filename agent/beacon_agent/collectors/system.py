"""load (/proc/loadavg), uptime (/proc/uptime) and procs (process states from /proc/<pid>/stat)."""

from __future__ import annotations

import os
from typing import Dict, List

from beacon_agent.context import Context
from beacon_agent.lineprotocol import FieldValue, Point

# Process state letters (proc(5)) and the field each is counted under, like Telegraf's processes.
_STATES = {
    "R": "running",
    "S": "sleeping",
    "D": "blocked",
    "Z": "zombies",
    "T": "stopped",
    "t": "stopped",
    "I": "idle",
    "X": "dead",
}


def _cpu_count(ctx: Context) -> int:
    return sum(1 for line in ctx.read("stat").splitlines() if line.startswith("cpu") and line[3:4].isdigit())


def collect_load(ctx: Context) -> List[Point]:
    load1, load5, load15 = (float(x) for x in ctx.read("loadavg").split()[:3])
    fields: Dict[str, FieldValue] = {"load1": load1, "load5": load5, "load15": load15, "n_cpus": _cpu_count(ctx)}
    return [Point("system", {}, fields, ctx.now_ns)]


def collect_uptime(ctx: Context) -> List[Point]:
    uptime = float(ctx.read("uptime").split()[0])
    return [Point("system", {}, {"uptime": int(uptime)}, ctx.now_ns)]


def collect_procs(ctx: Context) -> List[Point]:
    counts = dict.fromkeys(sorted(set(_STATES.values())), 0)
    total = threads = 0
    for entry in os.listdir(ctx.proc):
        if not entry.isdigit():
            continue
        try:
            stat = ctx.read(entry, "stat")
        except OSError:
            continue  # the process exited between listdir and open
        # The command name is in parentheses and may itself contain spaces or ")".
        after = stat[stat.rfind(")") + 2 :].split()
        if not after:
            continue
        total += 1
        state = _STATES.get(after[0])
        if state:
            counts[state] += 1
        if len(after) > 17:
            threads += int(after[17])  # num_threads is field 20 of stat; after[0] is field 3
    fields: Dict[str, FieldValue] = {"total": total, "total_threads": threads, **counts}
    return [Point("processes", {}, fields, ctx.now_ns)]
