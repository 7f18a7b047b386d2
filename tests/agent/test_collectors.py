"""Collectors against recorded /proc files (values derived by hand) and against the live /proc."""

from __future__ import annotations

import os
import shutil
from collections import namedtuple
from pathlib import Path

import pytest
from beacon_agent.collectors import COLLECTORS, Context, collect_all
from beacon_agent.collectors.disk import read_mounts
from beacon_agent.lineprotocol import Point, encode_batch

from tests.agent.conftest import FIXTURE_PROC

StatVfs = namedtuple("StatVfs", "f_frsize f_blocks f_bfree f_bavail f_files f_ffree")


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    shutil.copytree(FIXTURE_PROC, root)
    return root


def fake_statvfs(path: str) -> StatVfs:
    sizes = {
        "/": StatVfs(4096, 1_000_000, 400_000, 350_000, 500_000, 300_000),
        "/boot/firmware": StatVfs(512, 1_000_000, 900_000, 900_000, 0, 0),
        "/mnt/usb stick": StatVfs(4096, 0, 0, 0, 0, 0),  # an empty device reports 0 blocks: skipped
    }
    if path not in sizes:
        raise OSError(2, "not mounted")
    return sizes[path]


def by_key(points: list[Point], measurement: str, tag: str | None = None) -> dict[str | None, Point]:
    return {p.tags.get(tag) if tag else None: p for p in points if p.measurement == measurement}


def test_cpu_needs_two_samples_then_gives_percentages(proc: Path) -> None:
    ctx = Context(proc=str(proc))
    ctx.tick(now_ns=1, monotonic=100.0)
    assert COLLECTORS["cpu"](ctx) == []  # first sample: no delta yet
    (proc / "stat.next").replace(proc / "stat")
    ctx.tick(now_ns=2, monotonic=110.0)
    (point,) = COLLECTORS["cpu"](ctx)
    # deltas: user 60, nice 0, system 20, idle 100, iowait 10, irq 0, softirq 0, steal 10 → total 200
    assert point.tags == {"cpu": "cpu-total"}
    assert point.fields == {
        "usage_user": 30.0,
        "usage_nice": 0.0,
        "usage_system": 10.0,
        "usage_idle": 50.0,
        "usage_iowait": 5.0,
        "usage_irq": 0.0,
        "usage_softirq": 0.0,
        "usage_steal": 5.0,
    }
    assert point.time_ns == 2


def test_cpu_percpu(proc: Path) -> None:
    ctx = Context(proc=str(proc), percpu=True)
    ctx.tick(now_ns=1, monotonic=1.0)
    COLLECTORS["cpu"](ctx)
    (proc / "stat.next").replace(proc / "stat")
    ctx.tick(now_ns=2, monotonic=2.0)
    points = by_key(COLLECTORS["cpu"](ctx), "cpu", "cpu")
    assert sorted(points) == ["cpu-total", "cpu0", "cpu1"]
    assert points["cpu0"].fields["usage_user"] == 30.0  # 30 of 100 jiffies


def test_mem(proc: Path) -> None:
    ctx = Context(proc=str(proc))
    ctx.tick(now_ns=5, monotonic=1.0)
    (point,) = COLLECTORS["mem"](ctx)
    kib = 1024
    assert point.fields["total"] == 2_048_000 * kib
    assert point.fields["available"] == 1_024_000 * kib
    assert point.fields["used"] == 1_024_000 * kib
    assert point.fields["used_percent"] == 50.0
    assert point.fields["cached"] == 409_600 * kib
    assert point.fields["swap_total"] == 1_000_000 * kib
    assert point.fields["swap_used"] == 250_000 * kib
    assert point.fields["swap_used_percent"] == 25.0


def test_mem_without_memavailable_uses_classic_estimate(proc: Path) -> None:
    text = (proc / "meminfo").read_text()
    (proc / "meminfo").write_text("\n".join(line for line in text.splitlines() if "MemAvailable" not in line))
    ctx = Context(proc=str(proc))
    (point,) = COLLECTORS["mem"](ctx)
    assert point.fields["available"] == (512_000 + 102_400 + 409_600) * 1024  # free + buffers + cached


def test_disk_real_filesystems_only_with_unescaped_paths(proc: Path) -> None:
    ctx = Context(proc=str(proc), statvfs=fake_statvfs)
    mounts = read_mounts(ctx)
    assert [m[1] for m in mounts] == ["/", "/boot/firmware", "/mnt/usb stick"]  # proc/sysfs/tmpfs/cgroup2 skipped
    points = by_key(COLLECTORS["disk"](ctx), "disk", "path")
    assert sorted(points) == ["/", "/boot/firmware"]
    root = points["/"]
    assert root.tags == {"path": "/", "fstype": "ext4"}
    assert root.fields["total"] == 4096 * 1_000_000
    assert root.fields["free"] == 4096 * 350_000  # what a non-root user can still write
    assert root.fields["used"] == 4096 * 600_000
    assert root.fields["used_percent"] == round(100 * 600_000 / 950_000, 3)
    assert (root.fields["inodes_total"], root.fields["inodes_free"], root.fields["inodes_used"]) == (
        500_000,
        300_000,
        200_000,
    )


def test_diskio_skips_loop_and_ram(proc: Path) -> None:
    points = by_key(COLLECTORS["diskio"](Context(proc=str(proc))), "diskio", "name")
    assert sorted(points) == ["mmcblk0", "mmcblk0p2"]
    fields = points["mmcblk0"].fields
    assert fields["reads"] == 1500
    assert fields["read_bytes"] == 64_000 * 512
    assert fields["writes"] == 3000
    assert fields["write_bytes"] == 128_000 * 512
    assert fields["io_time_ms"] == 5200
    assert points["mmcblk0p2"].fields["io_in_progress"] == 1


def test_net_counters_then_rates(proc: Path) -> None:
    ctx = Context(proc=str(proc))
    ctx.tick(now_ns=1, monotonic=100.0)
    first = by_key(COLLECTORS["net"](ctx), "net", "interface")
    assert sorted(first) == ["eth0", "wlan0"]  # lo ignored by default
    eth0 = first["eth0"].fields
    assert (eth0["bytes_recv"], eth0["bytes_sent"], eth0["packets_recv"], eth0["packets_sent"]) == (
        1_000_000,
        500_000,
        2000,
        1500,
    )
    assert (eth0["err_in"], eth0["drop_in"], eth0["err_out"], eth0["drop_out"]) == (1, 2, 3, 4)
    assert "bytes_recv_per_sec" not in eth0  # no previous sample yet
    (proc / "net" / "dev.next").replace(proc / "net" / "dev")
    ctx.tick(now_ns=2, monotonic=110.0)  # 10 s later
    second = by_key(COLLECTORS["net"](ctx), "net", "interface")["eth0"].fields
    assert second["bytes_recv_per_sec"] == 10_000.0
    assert second["bytes_sent_per_sec"] == 4_000.0
    assert second["packets_recv_per_sec"] == 10.0
    assert second["packets_sent_per_sec"] == 4.0


def test_net_counter_reset_gives_no_rate(proc: Path) -> None:
    ctx = Context(proc=str(proc))
    ctx.tick(now_ns=1, monotonic=1.0)
    COLLECTORS["net"](ctx)
    text = (proc / "net" / "dev").read_text().replace("1000000    2000", "     10       1")
    (proc / "net" / "dev").write_text(text)
    ctx.tick(now_ns=2, monotonic=2.0)
    fields = by_key(COLLECTORS["net"](ctx), "net", "interface")["eth0"].fields
    assert fields["bytes_recv"] == 10
    assert "bytes_recv_per_sec" not in fields  # went backwards: interface re-created
    assert fields["bytes_sent_per_sec"] == 0.0


def test_load_uptime_procs(proc: Path) -> None:
    ctx = Context(proc=str(proc))
    ctx.tick(now_ns=9, monotonic=1.0)
    (load,) = COLLECTORS["load"](ctx)
    assert load.measurement == "system"
    assert load.fields == {"load1": 0.52, "load5": 0.58, "load15": 0.59, "n_cpus": 2}
    (uptime,) = COLLECTORS["uptime"](ctx)
    assert uptime.fields == {"uptime": 86461}
    (procs,) = COLLECTORS["procs"](ctx)
    assert procs.measurement == "processes"
    # pids 1 (S), 42 (R, a name with spaces and parentheses) and 77 (Z); threads 1 + 4 + 1
    assert procs.fields["total"] == 3
    assert (procs.fields["sleeping"], procs.fields["running"], procs.fields["zombies"]) == (1, 1, 1)
    assert procs.fields["total_threads"] == 6


def test_a_broken_collector_is_skipped_not_fatal(proc: Path) -> None:
    (proc / "meminfo").unlink()
    ctx = Context(proc=str(proc))
    ctx.tick(now_ns=1, monotonic=1.0)
    points, failed = collect_all(ctx, ["mem", "load", "uptime"])
    assert failed == 1
    assert [p.measurement for p in points] == ["system", "system"]


def test_live_proc_all_collectors() -> None:
    ctx = Context(proc="/proc")
    ctx.tick()
    collect_all(ctx, list(COLLECTORS))
    ctx.tick()
    points, failed = collect_all(ctx, list(COLLECTORS))
    assert failed == 0
    mem = by_key(points, "mem")[None].fields
    with open("/proc/meminfo") as fh:
        total_kib = int(fh.readline().split()[1])
    assert mem["total"] == total_kib * 1024
    assert 0 < mem["used_percent"] < 100
    root = by_key(points, "disk", "path").get("/")
    if root is not None:  # containers may mount / as an ignored type
        st = os.statvfs("/")
        assert root.fields["total"] == st.f_blocks * st.f_frsize
    system = next(p for p in points if p.measurement == "system" and "n_cpus" in p.fields)
    assert system.fields["n_cpus"] == os.cpu_count()
    procs = by_key(points, "processes")[None].fields
    assert procs["total"] >= 1 and procs["running"] >= 1  # at least this process is running
    body = encode_batch(points).decode()
    assert body.count("\n") == len(points)
