"""Request bodies → validated points: line protocol and the v1 JSON shape (ingest.body reads the bytes).

Everything here runs before any write, so a bad body is refused whole.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ingest import lineprotocol
from ingest.errors import IngestInvalid, IngestTooLarge, IngestUnsupportedMedia
from ingest.timeseries.base import Point
from ingest.validation import DEVICE_TAG, BodyTooLarge, PointInvalid, PointValidator

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(slots=True)
class Batch:
    points: list[Point] = field(default_factory=list)
    # Where each point came from ("line 3", "item 2"), for errors raised after parsing.
    locations: list[str] = field(default_factory=list)


def decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise IngestInvalid(f"line {line}, column {column}: body is not valid UTF-8", line=line) from None


def points_from_line_protocol(text: str, *, precision: str, validator: PointValidator) -> Batch:
    max_lines = validator.limits.max_lines
    try:
        # Stops at max_lines + 1 points: a body of a million tiny lines costs no parsing.
        parsed = lineprotocol.parse(text, precision=precision, max_points=max_lines)
    except lineprotocol.TooManyPoints:
        raise IngestTooLarge(
            f"more than {max_lines} points in one request; the limit is {max_lines} (INGEST_MAX_LINES). "
            "Split the batch."
        ) from None
    except lineprotocol.LineProtocolError as exc:
        raise IngestInvalid(str(exc), line=exc.line) from None
    if not parsed:
        raise IngestInvalid("the body holds no points (only blank lines or comments)")
    scale = lineprotocol.PRECISION_NS[precision]
    now_ns = validator.now_ns
    batch = Batch()
    points, locations = batch.points, batch.locations
    make = validator.point
    for item in parsed:
        time_ns = now_ns if item.timestamp is None else item.timestamp * scale
        try:
            points.append(make(item.measurement, item.tags, item.fields, time_ns, item.key))  # type: ignore[arg-type]
        except PointInvalid as exc:
            raise IngestInvalid(f"line {item.line}: {exc}", line=item.line) from None
        locations.append(f"line {item.line}")
    return batch


# --- the v1 JSON shape ------------------------------------------------------------------------


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


def parse_json(text: str) -> Any:
    """The JSON document; IngestInvalid for bad syntax, absurd nesting or absurdly long integers."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestInvalid(
            f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}", line=exc.lineno
        ) from None
    except RecursionError:
        # json's C scanner recurses once per nested array/object; the metric shape is 3 levels deep.
        raise IngestInvalid("invalid JSON: nested too deeply") from None
    except ValueError:
        # int() past sys.get_int_max_str_digits() (4,300 digits); no stored integer has more than 19.
        raise IngestInvalid(f"invalid JSON: an integer has more than {sys.get_int_max_str_digits()} digits") from None


def _first_error(errors: Any, path: str = "") -> tuple[str, str]:
    """The first (field path, message) in a DRF error structure."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            sub = f"{path}.{key}" if path else str(key)
            if key == "non_field_errors":
                sub = path
            found = _first_error(value, sub)
            if found[1]:
                return found
        return path, ""
    if isinstance(errors, list):
        for value in errors:
            found = _first_error(value, path)
            if found[1]:
                return found
        return path, ""
    return path, str(errors)


def points_from_json(text: str, *, validator: PointValidator, default_measurement: str) -> Batch:
    from ingest.serializers import MetricItemSerializer  # DRF import kept off the line-protocol path

    body = parse_json(text)
    many = isinstance(body, list)
    items = body if many else [body]
    if not items:
        raise IngestInvalid("the list of metric items is empty")
    try:
        validator.check_line_count(len(items))
    except BodyTooLarge as exc:
        raise IngestTooLarge(str(exc)) from None
    batch = Batch()
    for index, item in enumerate(items):
        where = f"item {index}" if many else "body"
        serializer = MetricItemSerializer(data=item)
        if not serializer.is_valid():
            path, message = _first_error(serializer.errors)
            raise IngestInvalid(f"{where}: {path or 'item'}: {message}", index=index if many else None)
        data = serializer.validated_data
        tags = dict(data.get("tags") or {})
        if "device" in data:
            if DEVICE_TAG in tags and tags[DEVICE_TAG] != data["device"]:
                raise IngestInvalid(f"{where}: 'device' and tags.device disagree", index=index if many else None)
            tags[DEVICE_TAG] = data["device"]
        time_ns = data["timestamp"] if data.get("timestamp") is not None else validator.now_ns
        measurement = data.get("measurement") or default_measurement
        try:
            batch.points.append(validator.point(measurement, tags, data["metrics"], time_ns))
        except PointInvalid as exc:
            raise IngestInvalid(f"{where}: {exc}", index=index if many else None) from None
        batch.locations.append(where)
    return batch


def points_from_body(
    raw: bytes,
    *,
    content_type: str,
    precision: str,
    validator: PointValidator,
    default_measurement: str,
    line_protocol_only: bool = False,
) -> Batch:
    """Dispatch on Content-Type: JSON, or line protocol for text/*; sniff when absent.

    `line_protocol_only` (the InfluxDB-compatible endpoint): the body is line protocol whatever
    the Content-Type says, as InfluxDB does.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    text = decode_text(raw)
    if line_protocol_only:
        return points_from_line_protocol(text, precision=precision, validator=validator)
    if media in ("application/json", "") and (media or text.lstrip()[:1] in ("{", "[")):
        return points_from_json(text, validator=validator, default_measurement=default_measurement)
    if media.startswith("text/") or media in ("", "application/octet-stream"):
        return points_from_line_protocol(text, precision=precision, validator=validator)
    raise IngestUnsupportedMedia(
        f"Content-Type {media!r} is not supported; send application/json or text/plain (line protocol)"
    )
