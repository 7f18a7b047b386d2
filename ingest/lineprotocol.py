"""InfluxDB line protocol: a parser with exact error positions, and a serializer.

Pure Python, no Django, so the edge agent and scripts can reuse it.

Escaping follows InfluxDB (1.x and 2.x):
- measurement: `\\,` and `\\ ` (comma, space);
- tag keys, tag values, field keys: `\\,`, `\\=`, `\\ `;
- string field values: `\\"` and `\\\\`;
- a backslash before any other character is a literal backslash.

A consequence of those rules: a measurement, tag or field key/value that ends in
a backslash cannot be written unambiguously (`a\\ ` reads as an escaped space),
so the serializer refuses it and the validation layer rejects it.

No maintained pure-Python *parser* exists (influxdb-client only serializes and
the `line-protocol-parser` package is a C extension with vague errors), hence
this module. The hot path (a line with no backslash and no quote) uses
`str.split`; anything unusual falls back to a character scanner, which is also
the one that produces error positions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

FieldValue = float | int | str | bool

PRECISION_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1
# [0-9], not \d: \d also matches other scripts' digits ("١٢٣"), which int() and float() would accept.
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_UINT_RE = re.compile(r"[0-9]+\Z")
_TIMESTAMP_RE = re.compile(r"-?[0-9]+\Z")
# More significant digits than any 64-bit integer has: refused before int(), which is quadratic in
# the length and raises its own ValueError past sys.get_int_max_str_digits() (4,300 by default).
_MAX_INT_DIGITS = 20
_FLOAT_END = frozenset("0123456789.")
_FLOAT_START = frozenset("+-.0123456789")
_TRUE = frozenset(("t", "T", "true", "True", "TRUE"))
_FALSE = frozenset(("f", "F", "false", "False", "FALSE"))


def _q(value: str) -> str:
    """Quote a value for an error message: JSON style, so quotes and control characters are visible."""
    return json.dumps(value, ensure_ascii=False)


class LineProtocolError(ValueError):
    """A line could not be parsed. `line` and `column` are 1-based."""

    def __init__(self, line: int, column: int, message: str) -> None:
        self.line = line
        self.column = column
        self.reason = message
        super().__init__(f"line {line}, column {column}: {message}")


class TooManyPoints(ValueError):
    """The body holds more points than the caller's `max_points`."""


@dataclass(frozen=True, slots=True)
class ParsedLine:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    timestamp: int | None  # in the request's precision; None when the line has none
    line: int  # 1-based line number in the body, for error messages downstream
    key: str | None = None  # the raw series key (measurement+tags) when parsed by the fast path


def parse(text: str, *, precision: str = "ns", max_points: int | None = None) -> list[ParsedLine]:
    """Parse a whole body. Raises LineProtocolError at the first bad line.

    Lines of the same series share one tags dict (and `key`), so callers can
    validate a series once per request instead of once per line. With `max_points`,
    TooManyPoints is raised as soon as the body holds more, before parsing the rest.
    """
    if precision not in PRECISION_NS:
        raise ValueError(f"precision must be one of {', '.join(PRECISION_NS)}")
    out: list[ParsedLine] = []
    append = out.append
    series: dict[str, tuple[str, dict[str, str]]] = {}
    raw_lines = text.split("\n")
    limit = len(raw_lines) + 1 if max_points is None else max_points
    for number, raw in enumerate(raw_lines, start=1):
        if len(out) >= limit:
            _raise_if_more_points(raw_lines, number, limit)
            break
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line or line[0] in " \t#":
            stripped = line.lstrip(" \t")
            if not stripped or stripped[0] == "#":
                continue
        elif "\\" not in line and '"' not in line:
            parsed = _parse_fast(line, number, series)
            if parsed is not None:
                append(parsed)
                continue
        append(_Scanner(line, number).parse())
    return out


def _raise_if_more_points(raw_lines: list[str], number: int, limit: int) -> None:
    for raw in raw_lines[number - 1 :]:
        stripped = raw.strip(" \t\r")
        if stripped and stripped[0] != "#":
            raise TooManyPoints(f"more than {limit} points in one request")


def _bounded_int(digits: str) -> int | None:
    """int(digits) for an already matched [+-]?[0-9]+, or None when it has too many digits to fit 64 bits."""
    if len(digits) > _MAX_INT_DIGITS and len(digits.lstrip("+-").lstrip("0")) > _MAX_INT_DIGITS:
        return None
    return int(digits)


def _shorten(token: str) -> str:
    return token if len(token) <= 40 else token[:37] + "..."


def parse_field_value(token: str) -> FieldValue:
    """Parse one unquoted field value (float, `i`/`u` integer or boolean). Raises ValueError."""
    last = token[-1:]
    if last == "i" and _INT_RE.match(token, 0, len(token) - 1):
        value = _bounded_int(token[:-1])
        if value is None or not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"integer out of range (signed 64-bit): {_q(_shorten(token))}")
        return value
    if last == "u" and _UINT_RE.match(token, 0, len(token) - 1):
        value = _bounded_int(token[:-1])
        if value is None or value > _UINT64_MAX:
            raise ValueError(f"unsigned integer out of range (64-bit): {_q(_shorten(token))}")
        return value
    if token in _TRUE:
        return True
    if token in _FALSE:
        return False
    if _FLOAT_RE.match(token):
        return float(token)
    raise ValueError(f"invalid field value {_q(_shorten(token))}")


def _parse_fast(line: str, number: int, series: dict[str, tuple[str, dict[str, str]]]) -> ParsedLine | None:
    """The common case (no escapes, no strings); None means "let the scanner handle it"."""
    parts = line.split(" ")
    count = len(parts)
    if count == 3:
        key, fieldset, ts = parts
        if not (ts.isascii() and ts.isdigit()) or len(ts) > 19:
            return None  # negative, malformed, empty or maybe out of range: the scanner decides
        timestamp: int | None = int(ts)
        if len(ts) == 19 and timestamp > _INT64_MAX:  # type: ignore[operator]
            return None
    elif count == 2:
        key, fieldset = parts
        timestamp = None
    else:
        return None
    known = series.get(key)
    if known is None:
        names = key.split(",")
        measurement = names[0]
        if not measurement:
            return None
        tags: dict[str, str] = {}
        for pair in names[1:]:
            k, _, v = pair.partition("=")
            if not k or not v or "=" in v or k in tags:
                return None
            tags[k] = v
        known = series[key] = (measurement, tags)
    fields: dict[str, FieldValue] = {}
    for pair in fieldset.split(","):
        k, _, v = pair.partition("=")
        if not k or not v or "=" in v:
            return None
        if v[-1] in _FLOAT_END and v[0] in _FLOAT_START and v.isascii() and "_" not in v:
            try:
                fields[k] = float(v)
            except ValueError:
                return None
            continue
        try:
            fields[k] = parse_field_value(v)
        except ValueError:
            return None
    return ParsedLine(known[0], known[1], fields, timestamp, number, key)


class _Scanner:
    """Character-by-character parse of one line; the source of exact error columns."""

    __slots__ = ("line", "n", "number", "pos")

    def __init__(self, line: str, number: int) -> None:
        self.line = line
        self.n = len(line)
        self.number = number
        self.pos = 0

    def fail(self, message: str, pos: int | None = None) -> LineProtocolError:
        return LineProtocolError(self.number, (self.pos if pos is None else pos) + 1, message)

    def parse(self) -> ParsedLine:
        line = self.line
        while self.pos < self.n and line[self.pos] in " \t":
            self.pos += 1
        start = self.pos
        measurement = self.token(stops=", ", escapable=", ")
        if not measurement:
            raise self.fail("missing measurement", start)
        tags: dict[str, str] = {}
        while self.pos < self.n and line[self.pos] == ",":
            self.pos += 1
            key_pos = self.pos
            key = self.token(stops=",= ", escapable=",= ")
            if not key:
                raise self.fail("missing tag key", key_pos)
            if self.pos >= self.n or line[self.pos] != "=":
                raise self.fail(f"missing '=' after tag key {_q(key)}")
            self.pos += 1
            value_pos = self.pos
            tag_value = self.token(stops=",= ", escapable=",= ")
            if not tag_value:
                raise self.fail(f"missing value for tag {_q(key)}", value_pos)
            if self.pos < self.n and line[self.pos] == "=":
                raise self.fail(f"unescaped '=' in value of tag {_q(key)}")
            if key in tags:
                raise self.fail(f"duplicate tag {_q(key)}", key_pos)
            tags[key] = tag_value
        if self.pos >= self.n:
            raise self.fail("missing fields")
        if line[self.pos] != " ":
            raise self.fail(f"unexpected character {_q(line[self.pos])}")
        self.skip_spaces()
        if self.pos >= self.n:
            raise self.fail("missing fields")
        fields: dict[str, FieldValue] = {}
        while True:
            key_pos = self.pos
            key = self.token(stops=",= ", escapable=",= ")
            if not key:
                raise self.fail("missing field key", key_pos)
            if self.pos >= self.n or line[self.pos] != "=":
                raise self.fail(f"missing '=' after field key {_q(key)}")
            self.pos += 1
            value_pos = self.pos
            if value_pos >= self.n or line[value_pos] in " ,":
                raise self.fail(f"missing value for field {_q(key)}", value_pos)
            if line[value_pos] == '"':
                value: FieldValue = self.quoted(key)
            else:
                token = self.token(stops=", ", escapable="")
                try:
                    value = parse_field_value(token)
                except ValueError as exc:
                    raise self.fail(str(exc), value_pos) from None
            fields[key] = value
            if self.pos < self.n and line[self.pos] == ",":
                self.pos += 1
                continue
            break
        timestamp = None
        if self.pos < self.n:
            if line[self.pos] != " ":
                raise self.fail(f"unexpected character {_q(line[self.pos])}")
            self.skip_spaces()
            if self.pos < self.n:
                ts_pos = self.pos
                ts = line[ts_pos:].rstrip(" ")
                if not _TIMESTAMP_RE.match(ts):
                    raise self.fail(f"invalid timestamp {_q(_shorten(ts))}", ts_pos)
                timestamp = _bounded_int(ts)
                if timestamp is None or not _INT64_MIN <= timestamp <= _INT64_MAX:
                    raise self.fail(f"timestamp out of range (signed 64-bit) {_q(_shorten(ts))}", ts_pos)
        return ParsedLine(measurement, tags, fields, timestamp, self.number)

    def skip_spaces(self) -> None:
        while self.pos < self.n and self.line[self.pos] == " ":
            self.pos += 1

    def token(self, *, stops: str, escapable: str) -> str:
        """Read up to an unescaped stop character; `\\x` for x in escapable yields x."""
        line, n = self.line, self.n
        i = self.pos
        chunks: list[str] = []
        begin = i
        while i < n:
            c = line[i]
            if c == "\\" and i + 1 < n and line[i + 1] in escapable:
                chunks.append(line[begin:i])
                begin = i + 1
                i += 2
                continue
            if c in stops:
                break
            i += 1
        chunks.append(line[begin:i])
        self.pos = i
        return "".join(chunks)

    def quoted(self, key: str) -> str:
        line, n = self.line, self.n
        open_pos = self.pos
        i = open_pos + 1
        chunks: list[str] = []
        begin = i
        while i < n:
            c = line[i]
            if c == "\\" and i + 1 < n and line[i + 1] in '"\\':
                chunks.append(line[begin:i])
                begin = i + 1
                i += 2
                continue
            if c == '"':
                chunks.append(line[begin:i])
                self.pos = i + 1
                if self.pos < self.n and line[self.pos] not in ", ":
                    raise self.fail(f"unexpected character {_q(line[self.pos])} after string value of field {_q(key)}")
                return "".join(chunks)
            i += 1
        raise self.fail(f"unterminated string value of field {_q(key)}", open_pos)


# --- serializer -----------------------------------------------------------------------------

_MEASUREMENT_ESCAPES = str.maketrans({",": "\\,", " ": "\\ "})
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_STRING_ESCAPES = str.maketrans({'"': '\\"', "\\": "\\\\"})


def _check_name(kind: str, value: str) -> None:
    if not value:
        raise ValueError(f"{kind} must not be empty")
    if value.endswith("\\"):
        raise ValueError(f"{kind} {_q(value)} ends with a backslash, which line protocol cannot represent")
    if "\n" in value or "\r" in value:
        raise ValueError(f"{kind} {_q(value)} contains a line break")


def format_field_value(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and infinite values cannot be written")
        return repr(value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise ValueError("string field values cannot contain line breaks")
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    raise TypeError(f"unsupported field value type {type(value).__name__}")


def format_line(
    measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], timestamp: int | None = None
) -> str:
    """One line of line protocol; tags sorted by key (what InfluxDB recommends for speed)."""
    _check_name("measurement", measurement)
    if measurement[0] in " \t#":
        raise ValueError(f"measurement {_q(measurement)} starts with whitespace or '#', which reads as a comment")
    parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
    for key in sorted(tags):
        tag_value = tags[key]
        _check_name("tag key", key)
        _check_name(f"value of tag {_q(key)}", tag_value)
        parts.append(f",{key.translate(_KEY_ESCAPES)}={tag_value.translate(_KEY_ESCAPES)}")
    if not fields:
        raise ValueError("a line needs at least one field")
    field_parts = []
    for key, value in fields.items():
        _check_name("field key", key)
        field_parts.append(f"{key.translate(_KEY_ESCAPES)}={format_field_value(value)}")
    parts.append(" ")
    parts.append(",".join(field_parts))
    if timestamp is not None:
        parts.append(f" {timestamp}")
    return "".join(parts)
