"""Rules every incoming point must pass before anything is written.

One `PointValidator` per request: it snapshots the limits from settings and
remembers names it has already accepted, because a 5,000-line batch repeats the
same few measurement, tag and field names on every line.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from portal.api.body import BodyLimits
from timeseries.base import TENANT_TAG, FieldValue, Point
from timeseries.validation import has_ambiguous_backslash

DEVICE_TAG = "device"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Lone surrogates come only from JSON escapes ("\\ud800"); they cannot be encoded as UTF-8, so no store can hold them.
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _text_problem(value: str) -> str | None:
    """Why a name or tag value cannot be stored faithfully, or None."""
    if _CONTROL.search(value):
        return "contains a control character (e.g. a line break)"
    if _SURROGATE.search(value):
        return "contains a lone surrogate (not valid Unicode)"
    if has_ambiguous_backslash(value):
        return "has a backslash at its end or before ',', '=' or ' ', which line protocol cannot carry unambiguously"
    return None


class PointInvalid(ValueError):
    """A point breaks a rule; the message says which, the caller adds where (line/item)."""


class BodyTooLarge(ValueError):
    """The request body (or what it inflates to) is over a limit → 413."""


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_body_bytes: int
    max_decompressed_bytes: int
    max_lines: int
    max_tags: int
    max_fields: int
    max_name_length: int
    max_tag_value_length: int
    max_string_length: int
    max_age_seconds: int
    max_future_seconds: int

    @classmethod
    def from_settings(cls) -> IngestLimits:
        return cls(
            max_body_bytes=settings.INGEST_MAX_BODY_BYTES,
            max_decompressed_bytes=settings.INGEST_MAX_DECOMPRESSED_BYTES,
            max_lines=settings.INGEST_MAX_LINES,
            max_tags=settings.INGEST_MAX_TAGS,
            max_fields=settings.INGEST_MAX_FIELDS,
            max_name_length=settings.INGEST_MAX_NAME_LENGTH,
            max_tag_value_length=settings.INGEST_MAX_TAG_VALUE_LENGTH,
            max_string_length=settings.INGEST_MAX_STRING_LENGTH,
            max_age_seconds=settings.INGEST_MAX_AGE_SECONDS,
            max_future_seconds=settings.INGEST_MAX_FUTURE_SECONDS,
        )

    def body(self) -> BodyLimits:
        return BodyLimits(
            max_bytes=self.max_body_bytes,
            max_inflated_bytes=self.max_decompressed_bytes,
            max_bytes_setting="INGEST_MAX_BODY_BYTES",
            max_inflated_setting="INGEST_MAX_DECOMPRESSED_BYTES",
        )


def _describe(value: str) -> str:
    return repr(value) if len(value) <= 80 else repr(value[:77] + "...")


class PointValidator:
    def __init__(self, limits: IngestLimits | None = None, *, now_ns: int | None = None) -> None:
        self.limits = limits or IngestLimits.from_settings()
        self.now_ns = time.time_ns() if now_ns is None else now_ns
        self.oldest_ns = self.now_ns - self.limits.max_age_seconds * 1_000_000_000
        self.newest_ns = self.now_ns + self.limits.max_future_seconds * 1_000_000_000
        # Names and tag values already checked in this request.
        self._names: set[tuple[str, str]] = set()
        self._tag_values: set[str] = set()
        self._field_names: set[str] = set()
        self._series: set[str] = set()

    def check_line_count(self, count: int) -> None:
        if count > self.limits.max_lines:
            raise BodyTooLarge(
                f"{count} points in one request; the limit is {self.limits.max_lines} (INGEST_MAX_LINES). "
                "Split the batch."
            )

    def name(self, kind: str, value: str) -> None:
        if (kind, value) in self._names:
            return
        if not value:
            raise PointInvalid(f"{kind} must not be empty")
        if len(value) > self.limits.max_name_length:
            raise PointInvalid(
                f"{kind} {_describe(value)} is {len(value)} characters; the limit is {self.limits.max_name_length}"
            )
        if value[0] == "_":
            raise PointInvalid(f"{kind} {_describe(value)} starts with '_', which is reserved")
        problem = _text_problem(value)
        if problem:
            raise PointInvalid(f"{kind} {_describe(value)} {problem}")
        self._names.add((kind, value))

    def tag_value(self, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise PointInvalid(f"value of tag {key!r} must be a string")
        if value in self._tag_values:
            return
        if not value:
            raise PointInvalid(f"value of tag {key!r} must not be empty")
        if len(value) > self.limits.max_tag_value_length:
            raise PointInvalid(
                f"value of tag {key!r} is {len(value)} characters; the limit is {self.limits.max_tag_value_length}"
            )
        problem = _text_problem(value)
        if problem:
            raise PointInvalid(f"value of tag {key!r} {problem}")
        self._tag_values.add(value)

    def field_value(self, key: str, value: object) -> FieldValue:
        if isinstance(value, bool):
            return value
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                raise PointInvalid(f"field {key!r} is {value}; NaN and infinite values are not stored")
            return value
        if isinstance(value, int):
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise PointInvalid(f"field {key!r} = {value} does not fit a signed 64-bit integer")
            return value
        if isinstance(value, str):
            if len(value) > self.limits.max_string_length:
                raise PointInvalid(
                    f"string field {key!r} is {len(value)} characters; the limit is {self.limits.max_string_length}"
                )
            if "\n" in value or "\r" in value or "\x00" in value:
                raise PointInvalid(f"string field {key!r} contains a line break or NUL character")
            if _SURROGATE.search(value):
                raise PointInvalid(f"string field {key!r} contains a lone surrogate (not valid Unicode)")
            return value
        raise PointInvalid(f"field {key!r} must be a number, string or boolean, not {type(value).__name__}")

    def time(self, time_ns: int) -> None:
        if time_ns < self.oldest_ns:
            raise PointInvalid(
                f"timestamp {time_ns} ns is older than {self.limits.max_age_seconds} s (INGEST_MAX_AGE_SECONDS)"
            )
        if time_ns > self.newest_ns:
            raise PointInvalid(
                f"timestamp {time_ns} ns is more than {self.limits.max_future_seconds} s in the future "
                "(INGEST_MAX_FUTURE_SECONDS); check the sender's clock and the precision parameter"
            )

    def point(
        self, measurement: str, tags: dict[str, str], fields: dict[str, object], time_ns: int, key: str | None = None
    ) -> Point:
        """Check everything about one point and return it; raises PointInvalid naming the rule.

        `key` identifies the series text of a line-protocol line: a series already
        accepted in this request is not checked again.
        """
        if key is None or key not in self._series:
            self.series(measurement, tags)
            if key is not None:
                self._series.add(key)
        if not fields:
            raise PointInvalid("a point needs at least one field")
        if len(fields) > self.limits.max_fields:
            raise PointInvalid(
                f"{len(fields)} fields; the limit is {self.limits.max_fields} per point (INGEST_MAX_FIELDS)"
            )
        field_names = self._field_names
        isfinite = math.isfinite
        for name, value in fields.items():
            if name not in field_names:
                if name == "time":
                    raise PointInvalid("field key 'time' is reserved")
                self.name("field key", name)
                field_names.add(name)
            # Floats are the common case: one type check and one finiteness check.
            if type(value) is not float or not isfinite(value):
                self.field_value(name, value)
        if not self.oldest_ns <= time_ns <= self.newest_ns:
            self.time(time_ns)
        return Point(measurement, tags, fields, time_ns)  # type: ignore[arg-type]

    def series(self, measurement: str, tags: dict[str, str]) -> None:
        self.name("measurement", measurement)
        if len(tags) > self.limits.max_tags:
            raise PointInvalid(f"{len(tags)} tags; the limit is {self.limits.max_tags} per point (INGEST_MAX_TAGS)")
        for key, tag_value in tags.items():
            if key == TENANT_TAG:
                raise PointInvalid(f"tag {TENANT_TAG!r} is reserved")
            if key == "time":
                raise PointInvalid("tag key 'time' is reserved")
            self.name("tag key", key)
            self.tag_value(key, tag_value)


def timestamp_to_ns(value: Any) -> int:
    """ISO 8601 (naive means UTC) or epoch seconds (int or float) → ns. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("must be an ISO 8601 string or epoch seconds, not a boolean")
    if isinstance(value, int | float):
        try:
            time_ns = int(Decimal(str(value)) * 1_000_000_000)
        except (InvalidOperation, ValueError):
            raise ValueError(f"{value!r} is not a finite number of seconds") from None
        if not _INT64_MIN <= time_ns <= _INT64_MAX:
            # Past signed 64-bit ns (years 1677-2262) no store can hold it; say so without echoing 400 digits.
            text = str(value)
            raise ValueError(f"{text if len(text) <= 40 else text[:37] + '...'} epoch seconds is out of range")
        return time_ns
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time (e.g. 2026-11-21T10:00:00Z)") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        delta = parsed - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    raise ValueError("must be an ISO 8601 string or epoch seconds")
