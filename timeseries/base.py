"""The time-series store interface every backend implements.

Tenancy is part of the signature: every write and query names the tenant
(the organization's id as a string), so no caller can forget to scope.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

FieldValue = float | int | str | bool
Aggregation = Literal["mean", "min", "max", "last", "sum"]
AGGREGATIONS: tuple[str, ...] = ("mean", "min", "max", "last", "sum")

# The tag the tenant is stored under; incoming points may not set it themselves.
TENANT_TAG = "beacon_tenant"
# A query's tag filter: {tag: value} or {tag: [value, ...]}; several values of one tag match any (OR),
# several tags must all match (AND).
TagFilter = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ns: int  # nanoseconds since the Unix epoch, UTC


@dataclass(slots=True)
class SeriesResult:
    """One field of one group of series: (time_ns, value) pairs in time order.

    With a step, time_ns is the bucket start (buckets aligned to the Unix
    epoch, empty buckets omitted); without one, the raw point times.
    """

    field: str
    tags: dict[str, str]  # values of the group_by tags, {} when not grouped
    points: list[tuple[int, FieldValue | None]] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FieldLatest:
    """One field of a series: its stored type and its newest point."""

    name: str
    kind: str  # "float", "int", "str" or "bool"
    time_ns: int
    value: FieldValue


@dataclass(slots=True)
class SeriesInfo:
    """One stored series (measurement + tag set, the tenant tag left out) and the fields it holds."""

    measurement: str
    tags: dict[str, str]
    fields: list[FieldLatest] = dataclasses.field(default_factory=list)  # sorted by name


class StoreError(Exception):
    """The store rejected an operation for a reason retrying will not fix.

    `point` is the 0-based index of the offending point of a write, when one is to blame; `reason` is the
    message without it. str() reads "point 3: <reason>".
    """

    def __init__(self, reason: str, *, point: int | None = None) -> None:
        super().__init__(reason if point is None else f"point {point}: {reason}")
        self.reason = reason
        self.point = point


class StoreQueryInvalid(StoreError):
    """The query cannot be answered as asked (e.g. `mean` of a string field): the caller's fault (→ 400)."""


class StoreTooManyGroups(StoreQueryInvalid):
    """A group_by query found more than `limit` groups with points for one field (→ 400 naming group_by)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} groups")
        self.limit = limit


class StoreUnavailable(StoreError):
    """The store cannot be reached or timed out; retrying later may succeed (→ 503)."""

    # Read by portal.api.errors (which imports no app): any view that lets this escape answers a JSON 503
    # with Retry-After, and the outage is logged once, instead of Django's HTML 500.
    outage = "time-series store"


class TimeSeriesStore(Protocol):
    name: str  # "sql" or "influx"

    def write(self, *, tenant: str, points: Sequence[Point]) -> None:
        """Store every point or none. Same measurement+tags+time overwrites the given fields."""

    def query(
        self,
        *,
        tenant: str,
        measurement: str,
        fields: Sequence[str],
        start: datetime,
        end: datetime,
        tags: TagFilter | None = None,
        step: timedelta | None = None,
        agg: Aggregation = "mean",
        group_by: Sequence[str] = (),
        max_groups: int | None = None,
    ) -> list[SeriesResult]:
        """Points in [start, end) matching `tags`, aggregated per `step` when given.

        With `group_by`, one result per field and combination of the group_by tags' values that has
        points in the range (a series without one of the tags counts as its "" value), ordered by those
        values. More than `max_groups` such groups for a field raises StoreTooManyGroups.
        """

    def window_aggregates(
        self,
        *,
        tenant: str,
        measurement: str,
        aggregates: Sequence[tuple[str, Aggregation]],
        start: datetime,
        end: datetime,
        tags: TagFilter | None = None,
        group_by: Sequence[str] = (),
    ) -> dict[tuple[str, str], dict[tuple[str, ...], FieldValue]]:
        """Each (field, aggregation) of `aggregates` over the whole of [start, end), per group of the group_by
        tags, in one query: {(field, agg): {group_by values in order: value}} (timeseries/window.py). A group
        without a point of a field has no entry in its columns; a field never written has no columns."""

    def series(self, *, tenant: str, tags: TagFilter | None = None) -> list[SeriesInfo]:
        """Every series of `tenant` matching all `tags`, each with its fields' types and newest points;
        sorted by measurement, then tags. Series whose points have all been pruned are left out."""

    def ping(self) -> None:
        """Return if the store answers; raise StoreUnavailable otherwise."""
