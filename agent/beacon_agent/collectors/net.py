"""net: /proc/net/dev counters per interface, plus per-second rates between samples."""

from __future__ import annotations

from typing import Dict, List

from beacon_agent.context import Context
from beacon_agent.lineprotocol import FieldValue, Point

# Column positions after "iface:" in /proc/net/dev (receive block then transmit block).
_COUNTERS = {
    "bytes_recv": 0,
    "packets_recv": 1,
    "err_in": 2,
    "drop_in": 3,
    "bytes_sent": 8,
    "packets_sent": 9,
    "err_out": 10,
    "drop_out": 11,
}
_RATES = ("bytes_recv", "bytes_sent", "packets_recv", "packets_sent")


def read_net_dev(ctx: Context) -> Dict[str, Dict[str, int]]:
    interfaces: Dict[str, Dict[str, int]] = {}
    for line in ctx.read("net", "dev").splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        values = rest.split()
        interfaces[name.strip()] = {key: int(values[i]) for key, i in _COUNTERS.items()}
    return interfaces


def collect_net(ctx: Context) -> List[Point]:
    state = ctx.prev("net")
    current = read_net_dev(ctx)
    previous: Dict[str, Dict[str, int]] = state.get("counters", {})
    elapsed = ctx.monotonic - state.get("monotonic", ctx.monotonic)
    state["counters"], state["monotonic"] = current, ctx.monotonic
    points = []
    for name, counters in current.items():
        if name in ctx.ignore_interfaces:
            continue
        fields: Dict[str, FieldValue] = dict(counters)
        before = previous.get(name)
        if before is not None and elapsed > 0:
            for key in _RATES:
                delta = counters[key] - before[key]
                if delta >= 0:  # a negative delta is a counter reset (interface re-created): no rate
                    fields[f"{key}_per_sec"] = round(delta / elapsed, 3)
        points.append(Point("net", {"interface": name}, fields, ctx.now_ns))
    return points
