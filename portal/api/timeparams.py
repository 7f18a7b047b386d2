"""Time-range query parameters shared by the read APIs (history, gateway bandwidth): absolute or relative
times, steps, and the automatic step. Layer 1: no models, no app imports."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from portal.api.errors import InvalidRequest

_RELATIVE = re.compile(r"-([0-9]+(?:\.[0-9]+)?)(s|m|h|d|w)\Z")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)?\Z")
# Below a millisecond a timedelta rounds to zero (or near it) and buckets stop making sense.
MIN_STEP_SECONDS = 0.001
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Steps a person reads easily; the automatic step is the smallest that fits the point cap.
NICE_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    2 * 86400,
    7 * 86400,
)


def _out_of_range(name: str, value: str) -> InvalidRequest:
    return InvalidRequest(f"parameter {name!r}: {value!r} is out of range; times must fall within the years 1 to 9999")


def parse_time(name: str, value: str, now: datetime) -> datetime:
    """`now`, `-15m`/`-24h`/`-7d`, epoch seconds, or ISO 8601 (naive = UTC); always returned in UTC.

    A time outside what datetime holds (year 1 to 9999) is a 400 naming the parameter, never an OverflowError.
    """
    text = value.strip()
    if text == "now":
        return now
    match = _RELATIVE.match(text)
    if match:
        try:
            return now - timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        except OverflowError:
            raise _out_of_range(name, value) from None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan  # not a number: try ISO 8601
    if not math.isnan(seconds):
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):  # ValueError: "year 0 is out of range"
            raise _out_of_range(name, value) from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            f"parameter {name!r}: {value!r} is not a time; use ISO 8601 (2026-11-21T10:00:00Z), "
            "epoch seconds, 'now' or a relative time like '-15m', '-24h', '-7d'"
        ) from None
    if not parsed.tzinfo:
        return parsed.replace(tzinfo=UTC)
    try:
        # 0001-01-01T00:00:00+01:00 is a valid string whose UTC time is before year 1.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _out_of_range(name, value) from None


def parse_step(value: str) -> timedelta:
    """`30s`, `5m`, `1h`, `1d`, `1w`, `500ms` or plain seconds; at least 1 ms."""
    match = _DURATION.match(value.strip())
    if not match or float(match.group(1)) <= 0:
        raise InvalidRequest(f"parameter 'step': {value!r} is not a positive duration like '30s', '5m', '1h'")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if seconds < MIN_STEP_SECONDS:
        raise InvalidRequest(f"parameter 'step': {value!r} is shorter than the smallest step, 1ms")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise InvalidRequest(f"parameter 'step': {value!r} is too large") from None


def bucket_count(start: datetime, end: datetime, step: timedelta) -> int:
    """Epoch-aligned buckets touched by [start, end)."""
    step_s = step.total_seconds()
    first = math.floor(start.timestamp() / step_s)
    last = math.ceil(end.timestamp() / step_s) - 1
    return max(0, last - first + 1)


def auto_step(start: datetime, end: datetime, max_points: int) -> timedelta:
    for seconds in NICE_STEPS:
        step = timedelta(seconds=seconds)
        if bucket_count(start, end, step) <= max_points:
            return step
    days = math.ceil((end - start).total_seconds() / 86400 / max(1, max_points - 1))
    return timedelta(days=max(days, 1))


# `group_by` may name this many tags; every `tag.<name>` value counts towards the second cap.
