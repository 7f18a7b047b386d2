"""cpu: usage percentages from /proc/stat jiffies, as the delta between two samples."""

from __future__ import annotations

from typing import Dict, List

from beacon_agent.context import Context
from beacon_agent.lineprotocol import FieldValue, Point

# Column order of the cpu lines in /proc/stat (proc(5)). guest/guest_nice are
# already included in user/nice, so they are not added to the total.
_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def read_cpu_times(ctx: Context) -> Dict[str, List[int]]:
    times: Dict[str, List[int]] = {}
    for line in ctx.read("stat").splitlines():
        if not line.startswith("cpu"):
            continue
        parts = line.split()
        values = [int(v) for v in parts[1 : 1 + len(_COLUMNS)]]
        values += [0] * (len(_COLUMNS) - len(values))  # old kernels lack steal
        times["cpu-total" if parts[0] == "cpu" else parts[0]] = values
    return times


def collect_cpu(ctx: Context) -> List[Point]:
    state = ctx.prev("cpu")
    current = read_cpu_times(ctx)
    previous: Dict[str, List[int]] = state.get("times", {})
    state["times"] = current
    points = []
    for name, values in current.items():
        if name != "cpu-total" and not ctx.percpu:
            continue
        before = previous.get(name)
        if before is None:
            continue  # first sample: percentages need a delta
        deltas = [max(0, now - then) for now, then in zip(values, before)]
        total = sum(deltas)
        if total == 0:
            continue
        fields: Dict[str, FieldValue] = {
            f"usage_{col}": round(100.0 * d / total, 3) for col, d in zip(_COLUMNS, deltas)
        }
        points.append(Point("cpu", {"cpu": name}, fields, ctx.now_ns))
    return points
