"""What a collector sees: where /proc is, the sample time, statvfs and its own state."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Optional


def _default_ignore_fs() -> FrozenSet[str]:
    # Pseudo and virtual filesystems: their sizes say nothing about the device's storage.
    names = (
        "autofs binfmt_misc bpf cgroup cgroup2 configfs debugfs devpts devtmpfs efivarfs fusectl hugetlbfs "
        "iso9660 mqueue nsfs proc pstore ramfs rpc_pipefs securityfs selinuxfs squashfs sysfs tmpfs tracefs "
        "fuse.lxcfs fuse.gvfsd-fuse nfsd"
    )
    return frozenset(names.split())


@dataclass
class Context:
    proc: str = "/proc"  # a recorded fixture tree in tests
    now_ns: int = 0  # the timestamp every point of this round carries
    monotonic: float = 0.0  # for rates: immune to wall-clock jumps
    statvfs: Callable[[str], Any] = os.statvfs
    percpu: bool = False
    ignore_fs: FrozenSet[str] = field(default_factory=_default_ignore_fs)
    ignore_interfaces: FrozenSet[str] = frozenset({"lo"})
    ignore_block_prefixes: tuple = ("loop", "ram", "zram", "fd", "sr")
    state: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def tick(self, now_ns: Optional[int] = None, monotonic: Optional[float] = None) -> None:
        self.now_ns = time.time_ns() if now_ns is None else now_ns
        self.monotonic = time.monotonic() if monotonic is None else monotonic

    def path(self, *parts: str) -> str:
        return os.path.join(self.proc, *parts)

    def read(self, *parts: str) -> str:
        with open(self.path(*parts), encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def prev(self, collector: str) -> Dict[str, Any]:
        return self.state.setdefault(collector, {})
