"""Request bodies → validated points: line protocol and the v1 JSON shape (portal.api.body reads the bytes).

Everything here runs before any write, so a bad body is refused whole.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ingest import lineprotocol
from ingest.batch import Batch
from ingest.validation import DEVICE_TAG, BodyTooLarge, PointInvalid, PointValidator
from portal.api.errors import InvalidRequest, TooLarge, UnsupportedMedia


def decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise InvalidRequest(f"line {line}, column {column}: body is not valid UTF-8", line=line) from None


def points_from_line_protocol(text: str, *, precision: str, validator: PointValidator) -> Batch:
    max_lines = validator.limits.max_lines
    try:
        # Stops at max_lines + 1 points: a body of a million tiny lines costs no parsing.
        parsed = lineprotocol.parse(text, precision=precision, max_points=max_lines)
    except lineprotocol.TooManyPoints:
        raise TooLarge(
            f"more than {max_lines} points in one request; the limit is {max_lines} (INGEST_MAX_LINES). "
            "Split the batch."
        ) from None
    except lineprotocol.LineProtocolError as exc:
        raise InvalidRequest(str(exc), line=exc.line) from None
    if not parsed:
        raise InvalidRequest("the body holds no points (only blank lines or comments)")
    scale = lineprotocol.PRECISION_NS[precision]
    now_ns = validator.now_ns
    batch = Batch(lines=[])
    points, lines = batch.points, batch.lines
    assert lines is not None
    make = validator.point
    for item in parsed:
        time_ns = now_ns if item.timestamp is None else item.timestamp * scale
        try:
            points.append(make(item.measurement, item.tags, item.fields, time_ns, item.key))  # type: ignore[arg-type]
        except PointInvalid as exc:
            raise InvalidRequest(f"line {item.line}: {exc}", line=item.line) from None
        lines.append(item.line)
    return batch


# --- the v1 JSON shape ------------------------------------------------------------------------


def parse_json(text: str) -> Any:
    """The JSON document; InvalidRequest for bad syntax, absurd nesting or absurdly long integers."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}", line=exc.lineno
        ) from None
    except RecursionError:
        # json's C scanner recurses once per nested array/object; the metric shape is 3 levels deep.
        raise InvalidRequest("invalid JSON: nested too deeply") from None
    except ValueError:
        # int() past sys.get_int_max_str_digits() (4,300 digits); no stored integer has more than 19.
        raise InvalidRequest(f"invalid JSON: an integer has more than {sys.get_int_max_str_digits()} digits") from None


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
        raise InvalidRequest("the list of metric items is empty")
    try:
        validator.check_line_count(len(items))
    except BodyTooLarge as exc:
        raise TooLarge(str(exc)) from None
    batch = Batch(items=many)
    for index, item in enumerate(items):
        where = batch.where(index)
        serializer = MetricItemSerializer(data=item)
        if not serializer.is_valid():
            path, message = _first_error(serializer.errors)
            raise InvalidRequest(f"{where}: {path or 'item'}: {message}", index=index if many else None)
        data = serializer.validated_data
        tags = dict(data.get("tags") or {})
        if "device" in data:
            if DEVICE_TAG in tags and tags[DEVICE_TAG] != data["device"]:
                raise InvalidRequest(f"{where}: 'device' and tags.device disagree", index=index if many else None)
            tags[DEVICE_TAG] = data["device"]
        time_ns = data["timestamp"] if data.get("timestamp") is not None else validator.now_ns
        measurement = data.get("measurement") or default_measurement
        try:
            batch.points.append(validator.point(measurement, tags, data["metrics"], time_ns))
        except PointInvalid as exc:
            raise InvalidRequest(f"{where}: {exc}", index=index if many else None) from None
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
    raise UnsupportedMedia(
        f"Content-Type {media!r} is not supported; send application/json or text/plain (line protocol)"
    )
