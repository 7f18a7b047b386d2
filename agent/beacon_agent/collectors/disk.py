"""disk (statvfs per mounted filesystem) and diskio (/proc/diskstats counters)."""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

from beacon_agent.context import Context
from beacon_agent.lineprotocol import FieldValue, Point

_OCTAL = re.compile(r"\\([0-7]{3})")
SECTOR_BYTES = 512  # /proc/diskstats counts 512-byte sectors whatever the device's real sector size


def _unescape(path: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as \040-style octal escapes.
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), path)


def read_mounts(ctx: Context) -> List[Tuple[str, str, str]]:
    """(source, mountpoint, fstype) of real filesystems, first mount of each mountpoint wins."""
    seen = set()
    mounts = []
    for line in ctx.read("self", "mounts").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        source, mountpoint, fstype = _unescape(parts[0]), _unescape(parts[1]), parts[2]
        if fstype in ctx.ignore_fs or mountpoint in seen:
            continue
        seen.add(mountpoint)
        mounts.append((source, mountpoint, fstype))
    return mounts


def collect_disk(ctx: Context) -> List[Point]:
    points = []
    for _source, mountpoint, fstype in read_mounts(ctx):
        try:
            st = ctx.statvfs(mountpoint)
        except OSError:
            continue  # unmounted since /proc/mounts was read, or not permitted: not an error
        if st.f_blocks == 0:
            continue
        total = st.f_blocks * st.f_frsize
        free = st.f_bfree * st.f_frsize
        avail = st.f_bavail * st.f_frsize
        used = total - free
        # Like df: the percentage a non-root user sees (reserved blocks count as full).
        denominator = used + avail
        fields: Dict[str, FieldValue] = {
            "total": total,
            "free": avail,
            "used": used,
            "used_percent": round(100.0 * used / denominator, 3) if denominator else 0.0,
            "inodes_total": st.f_files,
            "inodes_free": st.f_ffree,
            "inodes_used": st.f_files - st.f_ffree,
        }
        # Tag `path`, not `device`: `device` is Beacon's device tag (the whole machine).
        points.append(Point("disk", {"path": mountpoint, "fstype": fstype}, fields, ctx.now_ns))
    return points


def collect_diskio(ctx: Context) -> List[Point]:
    points = []
    for line in ctx.read("diskstats").splitlines():
        parts = line.split()
        if len(parts) < 14:
            continue
        name = parts[2]
        if name.startswith(ctx.ignore_block_prefixes):
            continue
        v = [int(x) for x in parts[3:14]]
        fields: Dict[str, FieldValue] = {
            "reads": v[0],
            "read_bytes": v[2] * SECTOR_BYTES,
            "read_time_ms": v[3],
            "writes": v[4],
            "write_bytes": v[6] * SECTOR_BYTES,
            "write_time_ms": v[7],
            "io_in_progress": v[8],
            "io_time_ms": v[9],
        }
        points.append(Point("diskio", {"name": name}, fields, ctx.now_ns))
    return points
