"""Checks every backend applies before writing, so both accept exactly the same points.

The rules are InfluxDB's storage limits: whatever InfluxDB cannot store
faithfully is refused here with a StoreError naming the point and the value,
so switching TIMESERIES_BACKEND never changes which data is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from timeseries.base import AGGREGATIONS, TENANT_TAG, FieldValue, Point, StoreError, TagFilter
from timeseries.memo import remember

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_STRING_BYTES = 64 * 1024  # InfluxDB's limit for a string field value
# Line protocol has no escape for a backslash before these in a tag, so InfluxDB would store another value.
_LP_SPECIAL = (",", "=", " ")


def field_kind(value: FieldValue) -> str:
    # bool first: bool is a subclass of int.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    raise StoreError(f"field value {value!r} has unsupported type {type(value).__name__}")


def _check_name(what: str, name: str, index: int) -> None:
    if not name:
        raise StoreError(f"{what} is empty", point=index)
    if "\n" in name or "\r" in name or "\t" in name:  # three `in` tests: a generator over them cost 5x
        raise StoreError(f"{what} {name!r} contains a newline, carriage return or tab", point=index)


def has_ambiguous_backslash(text: str) -> bool:
    """True when line protocol cannot carry `text` unchanged (a trailing backslash, or one before , = space)."""
    return "\\" in text and (text.endswith("\\") or any("\\" + special in text for special in _LP_SPECIAL))


def _check_tag_text(what: str, text: str, index: int) -> None:
    _check_name(what, text, index)
    if not has_ambiguous_backslash(text):
        return
    if text.endswith("\\"):
        raise StoreError(f"{what} {text!r} ends with a backslash, which InfluxDB cannot store", point=index)
    for special in _LP_SPECIAL:
        if "\\" + special in text:
            raise StoreError(
                f"{what} {text!r} has a backslash before {special!r}, which InfluxDB cannot store", point=index
            )


# Texts (measurement, tag key or value; field names) that passed their check, per process: a fleet pushes the
# same few names forever, and re-checking them was a sixth of a small push's store write. Pure functions of
# the text, so remembering is safe (timeseries/memo.py).
_GOOD_TAG_TEXTS: dict[str, bool] = {}
_GOOD_NAMES: dict[str, bool] = {}


def _check_tags(tags: Mapping[str, str], index: int, good_tags: dict[str, bool]) -> None:
    for key, tag_value in tags.items():
        if key == TENANT_TAG:
            raise StoreError(f"tag {TENANT_TAG!r} is reserved for the tenant", point=index)
        if not isinstance(tag_value, str):
            raise StoreError(f"tag {key!r} value {tag_value!r} is not a string", point=index)
        if key not in good_tags:
            _check_tag_text("tag key", key, index)
            remember(good_tags, {key: True})
        if tag_value not in good_tags:
            _check_tag_text(f"tag {key!r} value", tag_value, index)
            remember(good_tags, {tag_value: True})


def validate_points(points: Sequence[Point]) -> dict[tuple[str, str], str]:
    """Raise StoreError for the first bad point; return {(measurement, field): kind} of the batch."""
    kinds: dict[tuple[str, str], str] = {}
    good_tags, good_names = _GOOD_TAG_TEXTS, _GOOD_NAMES
    checked_tags: set[int] = set()  # ids of tags dicts checked in this call (alive and unchanged during it)
    isfinite = math.isfinite
    for index, point in enumerate(points):
        if point.measurement not in good_tags:
            _check_tag_text("measurement", point.measurement, index)
            remember(good_tags, {point.measurement: True})
        if not isinstance(point.time_ns, int) or isinstance(point.time_ns, bool):
            raise StoreError(f"time_ns {point.time_ns!r} is not an integer", point=index)
        if not INT64_MIN < point.time_ns < INT64_MAX:
            raise StoreError(f"time_ns {point.time_ns} is outside the int64 range", point=index)
        if id(point.tags) not in checked_tags:  # else the same dict as an earlier point's (one series' lines)
            _check_tags(point.tags, index, good_tags)
            checked_tags.add(id(point.tags))
        if not point.fields:
            raise StoreError("no fields", point=index)
        measurement = point.measurement
        for name, value in point.fields.items():
            if name not in good_names:
                _check_name("field name", name, index)
                remember(good_names, {name: True})
            if type(value) is float and isfinite(value):
                # The common case in one test; the kind is checked against the batch only when it changes.
                if kinds.get((measurement, name)) != "float":
                    seen = kinds.setdefault((measurement, name), "float")
                    if seen != "float":
                        raise StoreError(
                            f"field {name!r} of {measurement!r} is float but earlier in this batch it is {seen}",
                            point=index,
                        )
                continue
            kind = field_kind(value)
            if kind == "float" and not math.isfinite(value):  # type: ignore[arg-type]
                raise StoreError(f"field {name!r} is {value!r}; NaN and Inf cannot be stored", point=index)
            if kind == "int" and not INT64_MIN <= value <= INT64_MAX:  # type: ignore[operator]
                raise StoreError(f"field {name!r} value {value} is outside the int64 range", point=index)
            if kind == "str" and len(value.encode()) > MAX_STRING_BYTES:  # type: ignore[union-attr]
                raise StoreError(f"field {name!r} string is longer than {MAX_STRING_BYTES} bytes", point=index)
            seen = kinds.setdefault((measurement, name), kind)
            if seen != kind:
                raise StoreError(
                    f"field {name!r} of {measurement!r} is {kind} but earlier in this batch it is {seen}",
                    point=index,
                )
    return kinds


def validate_query(
    agg: str, tags: TagFilter | None, group_by: Sequence[str], max_groups: int | None = None
) -> dict[str, tuple[str, ...]]:
    """Refuse what no backend may answer; return the filter as {tag: (values, sorted, unique)}."""
    if agg not in AGGREGATIONS:
        raise StoreError(f"unknown aggregation {agg!r}; use one of {', '.join(AGGREGATIONS)}")
    if TENANT_TAG in (tags or {}) or TENANT_TAG in group_by:
        raise StoreError(f"tag {TENANT_TAG!r} is reserved for the tenant; it cannot be filtered or grouped by")
    if len(set(group_by)) != len(group_by):
        raise StoreError(f"group_by {list(group_by)!r} names a tag twice")
    if max_groups is not None and max_groups < 1:
        raise StoreError(f"max_groups {max_groups} must be at least 1")
    normalized: dict[str, tuple[str, ...]] = {}
    for key, wanted in (tags or {}).items():
        values = (wanted,) if isinstance(wanted, str) else tuple(sorted(set(wanted)))
        if not values:
            # An empty OR would match nothing on one backend and be a syntax error on the other.
            raise StoreError(f"tag {key!r} filter has no values")
        normalized[key] = values
    return normalized


def type_conflict_message(measurement: str, field: str, new: str, stored: str) -> str:
    return f"field type conflict: {measurement!r}.{field!r} is {new} in this write but {stored} in the store"
