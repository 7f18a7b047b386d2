"""InfluxDB line protocol encoding for the agent's points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Tuple, Union

FieldValue = Union[int, float, str, bool]

# Escapes per the InfluxDB line protocol reference: measurement escapes comma and
# space; tag keys/values and field keys also escape `=`; string field values
# escape backslash and double quote. Newlines cannot be escaped at all.
_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": " "})
_KEY = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\=", "\n": " "})


@dataclass
class Point:
    measurement: str
    tags: Dict[str, str]
    fields: Dict[str, FieldValue]
    time_ns: int = 0


def _escape_key(text: str) -> str:
    # A trailing backslash would escape the separator that follows it.
    return text.translate(_KEY).rstrip("\\")


def _field_value(value: FieldValue) -> str:
    if isinstance(value, bool):  # bool first: it is a subclass of int
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def encode_point(point: Point, precision_divisor: int = 1_000_000) -> str:
    """One line, or "" when the point has no encodable field (NaN/Inf are dropped, like Telegraf)."""
    fields = []
    for key, value in point.fields.items():
        if isinstance(value, float) and not math.isfinite(value):
            continue
        fields.append(f"{_escape_key(key)}={_field_value(value)}")
    if not fields:
        return ""
    parts = [point.measurement.translate(_MEASUREMENT)]
    for key in sorted(point.tags):  # sorted tags: the order InfluxDB indexes fastest
        value = point.tags[key]
        if value == "":
            continue  # an empty tag value is invalid line protocol
        parts.append(f"{_escape_key(key)}={_escape_key(value)}")
    return f"{','.join(parts)} {','.join(fields)} {point.time_ns // precision_divisor}"


PRECISION_DIVISORS: Mapping[str, int] = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def encode_batch(points: List[Point], precision: str = "ms") -> bytes:
    divisor = PRECISION_DIVISORS[precision]
    lines = [line for line in (encode_point(p, divisor) for p in points) if line]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def split_body(body: bytes) -> Tuple[bytes, bytes]:
    """Split a line-protocol body of two or more lines into two halves by lines, order kept.

    Used after a 413: each half is a valid body of its own (every line ends in a newline).
    """
    # Split on b"\n" only: bytes.splitlines() would also cut at a \r inside a string field.
    lines = [line + b"\n" for line in body.split(b"\n") if line]
    if len(lines) < 2:
        raise ValueError("a body of one line cannot be split")
    middle = len(lines) // 2
    return b"".join(lines[:middle]), b"".join(lines[middle:])
