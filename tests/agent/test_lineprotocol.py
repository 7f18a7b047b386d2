"""Line protocol encoding: escaping rules, field types, NaN/Inf, precision."""

from __future__ import annotations

import math

from beacon_agent.lineprotocol import Point, encode_batch, encode_point


def test_escaping_and_types() -> None:
    point = Point(
        "my meas,x",
        {"device": "pi 1", "path": "/mnt/a=b,c", "z": "trailing\\", "empty": ""},
        {"f one": 1.5, "n": 3, "ok": True, "s": 'say "hi"\\'},
        1_700_000_000_123_456_789,
    )
    assert encode_point(point, 1) == (
        r"my\ meas\,x,device=pi\ 1,path=/mnt/a\=b\,c,z=trailing "
        r'f\ one=1.5,n=3i,ok=true,s="say \"hi\"\\" 1700000000123456789'
    )


def test_nan_and_inf_fields_are_dropped_and_an_empty_point_skipped() -> None:
    points = [
        Point("m", {}, {"a": math.nan, "b": 2.0}, 2_000_000_000),
        Point("m", {}, {"a": math.inf}, 3_000_000_000),
    ]
    assert encode_batch(points, "s") == b"m b=2.0 2\n"
    assert encode_batch([], "ms") == b""


def test_precision() -> None:
    point = Point("m", {}, {"v": 1}, 1_700_000_000_987_654_321)
    assert encode_batch([point], "ms") == b"m v=1i 1700000000987\n"
    assert encode_batch([point], "us") == b"m v=1i 1700000000987654\n"
