"""History query parameters: tag filters and group_by; the time parameters (times, steps, the automatic step)
are portal.api.timeparams, re-exported here."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

from ingest.validation import DEVICE_TAG
from portal.api.errors import InvalidRequest
from portal.api.timeparams import (  # noqa: F401 (re-exported: history's time parameters live in layer 1)
    MIN_STEP_SECONDS,
    NICE_STEPS,
    auto_step,
    bucket_count,
    parse_step,
    parse_time,
)
from timeseries import TENANT_TAG

MAX_GROUP_BY = 3
MAX_TAG_VALUES = 100
TAG_PREFIX = "tag."
_RESERVED = {
    DEVICE_TAG: "the device is chosen by the 'device' parameter",
    TENANT_TAG: "it is the organization's own tag, set from the key or session",
}


@dataclass(frozen=True, slots=True)
class TagQuery:
    filters: dict[str, tuple[str, ...]]  # tag -> values, any of which may match
    group_by: tuple[str, ...]


def _check_tag_name(parameter: str, name: str) -> None:
    if not name:
        raise InvalidRequest(f"parameter {parameter!r}: a tag name is needed, like tag.path=/ or group_by=path")
    if name in _RESERVED:
        raise InvalidRequest(
            f"parameter {parameter!r}: tag {name!r} cannot be filtered or grouped by; {_RESERVED[name]}"
        )
    if any(ch in name for ch in "\n\r\t"):
        raise InvalidRequest(f"parameter {parameter!r}: a tag name has no newline, carriage return or tab")


def parse_tags(params: QueryDict, group_by: list[str]) -> TagQuery:
    """`tag.<name>=<value>` filters (repeated name: any value matches; several names: all must) and group_by."""
    filters: dict[str, tuple[str, ...]] = {}
    count = 0
    for key in params:
        if not key.startswith(TAG_PREFIX):
            continue
        name = key[len(TAG_PREFIX) :]
        _check_tag_name(key, name)
        values = params.getlist(key)
        count += len(values)
        if count > MAX_TAG_VALUES:
            raise InvalidRequest(f"parameter {key!r}: more than {MAX_TAG_VALUES} tag values in one query")
        if any(not value for value in values):
            raise InvalidRequest(f"parameter {key!r}: an empty value matches nothing; tag values are never empty")
        if any(ch in value for value in values for ch in "\n\r\t"):
            raise InvalidRequest(f"parameter {key!r}: a tag value has no newline, carriage return or tab")
        filters[name] = tuple(values)
    if len(group_by) > MAX_GROUP_BY:
        raise InvalidRequest(f"parameter 'group_by': at most {MAX_GROUP_BY} tags, not {len(group_by)}")
    for name in group_by:
        _check_tag_name("group_by", name)
    if len(set(group_by)) != len(group_by):
        raise InvalidRequest(f"parameter 'group_by': {group_by!r} names a tag twice")
    return TagQuery(filters=filters, group_by=tuple(group_by))
