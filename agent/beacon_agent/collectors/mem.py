"""mem: /proc/meminfo in bytes, with swap."""

from __future__ import annotations

from typing import Dict, List

from beacon_agent.context import Context
from beacon_agent.lineprotocol import FieldValue, Point


def read_meminfo(ctx: Context) -> Dict[str, int]:
    info: Dict[str, int] = {}
    for line in ctx.read("meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        value = int(parts[0])
        info[key] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return info


def collect_mem(ctx: Context) -> List[Point]:
    info = read_meminfo(ctx)
    total = info["MemTotal"]
    buffers, cached = info.get("Buffers", 0), info.get("Cached", 0)
    # MemAvailable exists since Linux 3.14; older kernels get the classic estimate.
    available = info.get("MemAvailable", info.get("MemFree", 0) + buffers + cached)
    used = total - available
    swap_total, swap_free = info.get("SwapTotal", 0), info.get("SwapFree", 0)
    fields: Dict[str, FieldValue] = {
        "total": total,
        "available": available,
        "used": used,
        "free": info.get("MemFree", 0),
        "buffered": buffers,
        "cached": cached,
        "used_percent": round(100.0 * used / total, 3) if total else 0.0,
        "available_percent": round(100.0 * available / total, 3) if total else 0.0,
        "swap_total": swap_total,
        "swap_free": swap_free,
        "swap_used": swap_total - swap_free,
        "swap_used_percent": round(100.0 * (swap_total - swap_free) / swap_total, 3) if swap_total else 0.0,
    }
    return [Point("mem", {}, fields, ctx.now_ns)]
