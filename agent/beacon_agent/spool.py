"""Disk spool: append-only segment files of gzip batches, bounded in bytes, replayed in order.

Layout under `<state_dir>/spool/`: `00000000000000000001.seg`, ... Each record is a
16-byte header (magic, payload length, point count, CRC32) followed by the payload
(a gzip line-protocol batch, sent as-is on replay). Every append is fsync'd, so a
batch the agent accepted survives a power cut. `cursor` holds how far replay got
(segment + offset, and during a 413 split how many leading lines of that record are done),
replaced atomically after each acknowledged batch or part; a crash between
send and cursor write resends one batch, which the store's same-series-same-time
overwrite makes harmless.

When an append would exceed `max_bytes`, whole segments are dropped oldest first and
their unsent points added to `dropped_points` (persisted in `counters.json`, reported
as the `beacon_agent` measurement's `dropped_points` field).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

log = logging.getLogger("beacon_agent.spool")

_HEADER = struct.Struct(">4sIII")
_MAGIC = b"BSP1"


@dataclass
class Record:
    segment: int
    offset: int
    end: int
    points: int
    payload: bytes
    skip: int = 0  # leading lines already delivered (a 413 split in progress); not in points/payload


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Counters:
    """Monotonic counters that survive restarts (dropped/discarded points)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values: Dict[str, int] = {"dropped_points": 0, "discarded_points": 0}
        try:
            with open(path, encoding="utf-8") as fh:
                self.values.update({k: int(v) for k, v in json.load(fh).items()})
        except (OSError, ValueError):
            pass

    def add(self, name: str, amount: int) -> None:
        if amount:
            self.values[name] = self.values.get(name, 0) + amount
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self.values, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)

    def __getitem__(self, name: str) -> int:
        return self.values.get(name, 0)


class Spool:
    def __init__(self, directory: str, max_bytes: int, segment_bytes: int, counters: Counters) -> None:
        self.dir = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.counters = counters
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self._cursor_path = os.path.join(directory, "cursor")
        self.segments: List[int] = sorted(
            int(name[:-4]) for name in os.listdir(directory) if name.endswith(".seg") and name[:-4].isdigit()
        )
        # cursor: (segment, offset) of the next unsent record; skip: how many of its leading lines are
        # already stored (a 413 split in progress), so a restart does not send them again.
        self.skip = 0
        self.cursor: Tuple[int, int] = self._load_cursor()
        self.sizes: Dict[int, int] = {}
        self.points = 0
        for seg in list(self.segments):
            self._scan(seg)
        self._drop_consumed()

    # --- bookkeeping -------------------------------------------------------------------------------

    def _path(self, seg: int) -> str:
        return os.path.join(self.dir, f"{seg:020d}.seg")

    def _load_cursor(self) -> Tuple[int, int]:
        try:
            with open(self._cursor_path, encoding="utf-8") as fh:
                seg, offset, *skip = fh.read().split()
            self.skip = int(skip[0]) if skip else 0
            return int(seg), int(offset)
        except (OSError, ValueError):
            return (self.segments[0] if self.segments else 0), 0

    def _save_cursor(self) -> None:
        tmp = self._cursor_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(f"{self.cursor[0]} {self.cursor[1]}{f' {self.skip}' if self.skip else ''}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._cursor_path)

    def _scan(self, seg: int) -> None:
        """Validate a segment at start-up; cut a torn tail (a crash mid-append) so appends stay aligned."""
        path = self._path(seg)
        good = 0
        with open(path, "rb") as fh:
            data = fh.read()
        unread_from = self.cursor[1] if seg == self.cursor[0] else (0 if seg > self.cursor[0] else len(data))
        while good + _HEADER.size <= len(data):
            magic, length, points, crc = _HEADER.unpack_from(data, good)
            end = good + _HEADER.size + length
            if magic != _MAGIC or end > len(data) or zlib.crc32(data[good + _HEADER.size : end]) != crc:
                break
            if good >= unread_from:
                self.points += points - (self.skip if (seg, good) == self.cursor else 0)
            good = end
        if good < len(data):
            log.warning("spool segment %s: cutting %d bytes of a torn or corrupt tail", path, len(data) - good)
            with open(path, "r+b") as fh:
                fh.truncate(good)
                os.fsync(fh.fileno())
        self.sizes[seg] = good

    def _unread_points(self, seg: int) -> int:
        start = self.cursor[1] if seg == self.cursor[0] else 0
        total = 0
        for record in self._iter(seg, start):
            total += record.points - (self.skip if (seg, record.offset) == self.cursor else 0)
        return total

    def _iter(self, seg: int, offset: int):  # type: ignore[no-untyped-def]
        with open(self._path(seg), "rb") as fh:
            fh.seek(offset)
            while True:
                header = fh.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    return
                magic, length, points, crc = _HEADER.unpack(header)
                payload = fh.read(length)
                if magic != _MAGIC or len(payload) < length or zlib.crc32(payload) != crc:
                    log.error("spool segment %d: corrupt record at offset %d; skipping the rest", seg, offset)
                    return
                end = offset + _HEADER.size + length
                yield Record(seg, offset, end, points, payload)
                offset = end

    def _remove(self, seg: int) -> None:
        os.remove(self._path(seg))
        self.segments.remove(seg)
        self.sizes.pop(seg, None)
        _fsync_dir(self.dir)

    def _drop_consumed(self) -> None:
        # Segments entirely before the cursor are fully sent.
        while self.segments and (
            self.segments[0] < self.cursor[0]
            or (self.segments[0] == self.cursor[0] and self.cursor[1] >= self.sizes.get(self.segments[0], 0))
        ):
            self._remove(self.segments[0])
        if not self.segments:
            self.points = 0

    # --- public API --------------------------------------------------------------------------------

    @property
    def size_bytes(self) -> int:
        return sum(self.sizes.values())

    def empty(self) -> bool:
        return self.points == 0

    def append(self, payload: bytes, points: int) -> None:
        """Write one batch durably; drop oldest segments first if the spool would exceed its bound."""
        record = _HEADER.pack(_MAGIC, len(payload), points, zlib.crc32(payload)) + payload
        while self.segments and self.size_bytes + len(record) > self.max_bytes:
            oldest = self.segments[0]
            lost = self._unread_points(oldest)
            self._remove(oldest)
            self.points -= lost
            self.counters.add("dropped_points", lost)
            log.error(
                "spool full (%d bytes max): dropped oldest segment %d with %d unsent points",
                self.max_bytes,
                oldest,
                lost,
            )
            if oldest == self.cursor[0]:
                self.cursor, self.skip = (self.segments[0] if self.segments else oldest + 1, 0), 0
                self._save_cursor()
        if not self.segments or self.sizes[self.segments[-1]] >= self.segment_bytes:
            seg = (self.segments[-1] + 1) if self.segments else self.cursor[0] + 1
            self.segments.append(seg)
            self.sizes[seg] = 0
            if len(self.segments) == 1:
                self.cursor = (seg, 0)
                self._save_cursor()
            new = True
        else:
            seg, new = self.segments[-1], False
        with open(self._path(seg), "ab") as fh:
            fh.write(record)
            fh.flush()
            os.fsync(fh.fileno())
        if new:
            _fsync_dir(self.dir)
        self.sizes[seg] += len(record)
        self.points += points

    def peek(self, max_points: int) -> List[Record]:
        """The oldest unsent records, at least one, up to `max_points` points in total."""
        records: List[Record] = []
        total = 0
        seg, offset = self.cursor
        for s in self.segments:
            if s < seg:
                continue
            for record in self._iter(s, offset if s == seg else 0):
                if self.skip and (record.segment, record.offset) == self.cursor:
                    record = _without_leading_lines(record, self.skip)
                if records and total + record.points > max_points:
                    return records
                records.append(record)
                total += record.points
            offset = 0
        return records

    def ack(self, records: List[Record]) -> None:
        """Mark records as sent (or discarded): advance the cursor, delete finished segments."""
        if not records:
            return
        last = records[-1]
        head = records[0]
        # Lines of the head record delivered since it was peeked were already taken off `points`.
        progressed = self.skip - head.skip if (head.segment, head.offset) == self.cursor else 0
        self.cursor, self.skip = (last.segment, last.end), 0
        self.points -= sum(r.points for r in records) - progressed
        self._save_cursor()
        self._drop_consumed()
        if self.segments and self.cursor[0] < self.segments[0]:
            self.cursor = (self.segments[0], 0)

    def advance_within(self, record: Record, lines: int) -> None:
        """The first `lines` lines of `record` (the head, as peeked) are stored: remember it durably."""
        if (record.segment, record.offset) != self.cursor or lines <= self.skip - record.skip:
            return  # no longer the head (dropped from a full spool), or nothing new
        self.points -= lines - (self.skip - record.skip)
        self.skip = record.skip + lines
        self._save_cursor()

    def first(self) -> Optional[Record]:
        records = self.peek(1)
        return records[0] if records else None


def _without_leading_lines(record: Record, skip: int) -> Record:
    lines = [line + b"\n" for line in gzip.decompress(record.payload).split(b"\n") if line]
    rest = b"".join(lines[skip:])
    payload = gzip.compress(rest, compresslevel=6, mtime=0)
    return Record(record.segment, record.offset, record.end, record.points - skip, payload, skip)
