"""Gzip inflation cost per request body: portal.api.body.inflate vs zlib on one member, and vs the old loop.

- (a) 10 MiB of empty gzip members (524,288 of them): refused at MAX_GZIP_MEMBERS; time to the 413.
- (b) the same data in 1,000 members (the cap), (b1) in one member, vs (c) baseline: one member,
  zlib.decompress. Ratios b/c and b1/c.
- (d) the pre-fix loop (whole remainder handed to zlib per member) on 256 KiB and 1 MiB of empty members,
  to show the quadratic growth that stalled workers (10 MiB took ~195 s; not run here).

    .venv/bin/python bench/gzip_members.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
import zlib
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")

from bench._common import machine

BIG = 1 << 30


def old_inflate(raw: bytes) -> int:
    """The loop ingest used before: zlib copies the unread remainder into unused_data once per member."""
    data, size = raw, 0
    while data:
        inflater = zlib.decompressobj(wbits=31)
        size += len(inflater.decompress(data))
        data = inflater.unused_data
    return size


def best_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import django

    django.setup()
    from ingest.errors import IngestTooLarge

    from portal.api.body import MAX_GZIP_MEMBERS, inflate

    empty = gzip.compress(b"", mtime=0)
    bomb = empty * (10 * 1024 * 1024 // len(empty))

    def refuse() -> None:
        try:
            inflate(bomb, max_inflated=BIG)
        except IngestTooLarge:
            return
        raise AssertionError("not refused")

    text = b"".join(
        b"cpu,device=edge-%03d usage_idle=%d.5,usage_user=3.25 1700000000\n" % (i % 50, i) for i in range(200_000)
    )
    step = len(text) // MAX_GZIP_MEMBERS + 1
    multi = b"".join(gzip.compress(text[i : i + step]) for i in range(0, len(text), step))
    single = gzip.compress(text)
    assert inflate(multi, max_inflated=BIG) == text
    print(machine(), f"load average {os.getloadavg()[0]:.2f}")
    print(f"(a) 10 MiB, {len(bomb) // len(empty):,} empty members → 413: {best_ms(refuse, args.repeat):.1f} ms")
    b = best_ms(lambda: inflate(multi, max_inflated=BIG), args.repeat)
    c = best_ms(lambda: zlib.decompress(single, wbits=31), args.repeat)
    one = best_ms(lambda: inflate(single, max_inflated=BIG), args.repeat)
    print(
        f"(b) {len(text) / 2**20:.1f} MiB of line protocol in {MAX_GZIP_MEMBERS} members ({len(multi):,} B): {b:.1f} ms"
    )
    print(
        f"(c) baseline, the same text in one member, zlib.decompress ({len(single):,} B): {c:.1f} ms; "
        f"ratio b/c {b / c:.2f}"
    )
    print(f"(b1) the one-member body through inflate: {one:.1f} ms; ratio b1/c {one / c:.2f}")
    for kib in (256, 1024):
        body = empty * (kib * 1024 // len(empty))
        print(f"(d) pre-fix loop, {kib} KiB of empty members: {best_ms(lambda body=body: old_inflate(body), 1):.0f} ms")


if __name__ == "__main__":
    main()
