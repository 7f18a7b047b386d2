"""Disk spool: order, durability across reopen, torn tails, the byte bound and the drop counter."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

from beacon_agent.spool import Counters, Spool


def make(tmp_path: Path, max_bytes: int = 1 << 20, segment_bytes: int = 4096) -> Spool:
    return Spool(str(tmp_path / "spool"), max_bytes, segment_bytes, Counters(str(tmp_path / "counters.json")))


def payload(i: int, size: int = 0) -> bytes:
    # The spool is payload-agnostic; padding after the gzip member keeps sizes predictable.
    return gzip.compress(f"m v={i}i {i}\n".encode(), mtime=0) + b"#" * size


def number(p: bytes) -> int:
    return int(gzip.GzipFile(fileobj=io.BytesIO(p)).readline().split(b" ")[1][2:-1])


def drain(spool: Spool, max_points: int = 1) -> list[bytes]:
    out = []
    while not spool.empty():
        records = spool.peek(max_points)
        out.extend(r.payload for r in records)
        spool.ack(records)
    return out


def test_fifo_across_segments_and_reopen(tmp_path: Path) -> None:
    spool = make(tmp_path, segment_bytes=1024)
    for i in range(50):
        spool.append(payload(i, 100), 1)
    assert len(spool.segments) > 3
    assert spool.points == 50
    first = spool.peek(10)
    assert [number(r.payload) for r in first] == list(range(10))
    spool.ack(first)
    reopened = make(tmp_path, segment_bytes=1024)  # a restart: cursor and segments from disk
    assert reopened.points == 40
    rest = drain(reopened, max_points=7)
    assert [number(p) for p in rest] == list(range(10, 50))
    assert os.listdir(tmp_path / "spool") == ["cursor"]  # finished segments deleted
    assert reopened.size_bytes == 0


def test_torn_tail_is_cut_and_appends_continue(tmp_path: Path) -> None:
    spool = make(tmp_path)
    spool.append(payload(1), 1)
    spool.append(payload(2), 1)
    seg = spool._path(spool.segments[-1])
    with open(seg, "ab") as fh:
        fh.write(b"BSP1\x00\x00\x01")  # a crash in the middle of a header
    reopened = make(tmp_path)
    assert reopened.points == 2
    reopened.append(payload(3), 1)
    assert [gzip.decompress(p) for p in drain(reopened)] == [b"m v=1i 1\n", b"m v=2i 2\n", b"m v=3i 3\n"]


def test_full_spool_drops_oldest_segments_and_counts_points(tmp_path: Path) -> None:
    spool = make(tmp_path, max_bytes=4096, segment_bytes=1024)
    record = payload(0, 400)
    record_bytes = 16 + len(record)
    n = 40
    for i in range(n):
        spool.append(payload(i, 400), 3)  # 3 points per batch
    assert spool.size_bytes <= 4096
    kept = drain(spool)
    dropped_batches = n - len(kept)
    assert dropped_batches > 0
    assert spool.counters["dropped_points"] == 3 * dropped_batches
    # What survives is the newest contiguous run, in order.
    assert [number(p) for p in kept] == list(range(dropped_batches, n))
    assert len(kept) * record_bytes <= 4096
    # The counter survives a restart.
    assert Counters(str(tmp_path / "counters.json"))["dropped_points"] == 3 * dropped_batches


def test_dropping_a_partly_sent_segment_counts_only_unsent_points(tmp_path: Path) -> None:
    spool = make(tmp_path, max_bytes=2048, segment_bytes=1024)
    for i in range(4):
        spool.append(payload(i, 230), 1)  # ~290-byte records: all four land in segment 1
    assert spool.segments == [1]
    spool.ack(spool.peek(2))  # records 0 and 1 sent
    i = 100
    while spool.segments[0] == 1:
        spool.append(payload(i, 230), 1)
        i += 1
    assert spool.counters["dropped_points"] == 2  # records 2 and 3; the sent ones are not "dropped"
    assert [number(p) for p in drain(spool)] == list(range(100, i))
