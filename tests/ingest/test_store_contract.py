"""One contract, two backends: the same writes give the same answers on `sql` (Postgres) and `influx` (influxd 1.6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from timeseries import Point, SeriesResult, StoreError, StoreTooManyGroups, TimeSeriesStore, get_store, reset_store

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # a multiple of one minute since the epoch
NS0 = int(T0.timestamp()) * 1_000_000_000
MIN = 60 * 1_000_000_000
SEC = 1_000_000_000
MINUTE = timedelta(minutes=1)
START, END = T0 - timedelta(hours=1), T0 + timedelta(hours=1)
TENANT, OTHER = "101", "202"


@pytest.fixture(params=["sql", "influx"])
def store(request: pytest.FixtureRequest, db: None, settings: object) -> Iterator[TimeSeriesStore]:
    # `db` for both: the influx fixtures need none, but ordering it first keeps the test database in place.
    if request.param == "sql":
        settings.TIMESERIES_BACKEND = "sql"  # type: ignore[attr-defined]
        reset_store()
        yield get_store()
        reset_store()
    else:
        yield request.getfixturevalue("influx_backend")


def q(store: TimeSeriesStore, fields: list[str], tenant: str = TENANT, **kw: object) -> list[SeriesResult]:
    kw.setdefault("start", START)
    kw.setdefault("end", END)
    return store.query(tenant=tenant, measurement="cpu", fields=fields, **kw)  # type: ignore[arg-type]


def as_tuples(results: list[SeriesResult]) -> list[tuple[str, dict[str, str], list[tuple[int, object]]]]:
    return [(r.field, r.tags, r.points) for r in results]


def test_backend_name(store: TimeSeriesStore) -> None:
    assert store.name in ("sql", "influx")
    store.ping()


def test_raw_round_trip_of_every_type(store: TimeSeriesStore) -> None:
    fields = {"f": 1.5, "whole": 2.0, "i": -(2**62), "s": 'he said "hi"\\ ✓', "b": False}
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "a"}, fields, NS0 + 7)])
    results = q(store, ["f", "whole", "i", "s", "b", "missing"])
    assert as_tuples(results) == [
        ("f", {}, [(NS0 + 7, 1.5)]),
        ("whole", {}, [(NS0 + 7, 2.0)]),
        ("i", {}, [(NS0 + 7, -(2**62))]),
        ("s", {}, [(NS0 + 7, 'he said "hi"\\ ✓')]),
        ("b", {}, [(NS0 + 7, False)]),
    ]
    assert type(results[1].points[0][1]) is float
    assert type(results[2].points[0][1]) is int
    assert type(results[4].points[0][1]) is bool


def _three_buckets(store: TimeSeriesStore) -> None:
    # Bucket 0: 1, 3 (int and float fields); bucket 1 empty; bucket 2: 10, 20; a point at END is outside.
    rows = [(NS0, 1), (NS0 + 30 * SEC, 3), (NS0 + 2 * MIN, 20), (NS0 + 2 * MIN + 5 * SEC, 10)]
    points = [Point("cpu", {"host": "a"}, {"v": float(v), "n": v}, t) for t, v in rows]
    points.append(Point("cpu", {"host": "a"}, {"v": 1000.0, "n": 1000}, NS0 + 3 * MIN))
    store.write(tenant=TENANT, points=points)


@pytest.mark.parametrize(
    ("agg", "expected_v", "expected_n"),
    [
        ("mean", [2.0, 15.0], [2.0, 15.0]),
        ("min", [1.0, 10.0], [1, 10]),
        ("max", [3.0, 20.0], [3, 20]),
        ("sum", [4.0, 30.0], [4, 30]),
        ("last", [3.0, 10.0], [3, 10]),
    ],
)
def test_aggregations_per_step_half_open_and_empty_buckets_omitted(
    store: TimeSeriesStore, agg: str, expected_v: list[float], expected_n: list[object]
) -> None:
    _three_buckets(store)
    end = T0 + timedelta(minutes=3)  # excludes the 1000 at exactly END
    results = q(store, ["v", "n"], start=T0, end=end, step=timedelta(minutes=1), agg=agg)
    times = [NS0, NS0 + 2 * MIN]
    assert as_tuples(results) == [
        ("v", {}, list(zip(times, expected_v, strict=True))),
        ("n", {}, list(zip(times, expected_n, strict=True))),
    ]
    assert [type(v) for _, v in results[1].points] == [type(v) for v in expected_n]


def test_start_is_inclusive_end_exclusive_raw(store: TimeSeriesStore) -> None:
    _three_buckets(store)
    results = q(store, ["n"], start=T0 + timedelta(seconds=30), end=T0 + timedelta(minutes=3))
    assert as_tuples(results) == [("n", {}, [(NS0 + 30 * SEC, 3), (NS0 + 2 * MIN, 20), (NS0 + 2 * MIN + 5 * SEC, 10)])]


def test_buckets_are_aligned_to_the_epoch_not_to_start(store: TimeSeriesStore) -> None:
    store.write(tenant=TENANT, points=[Point("cpu", {}, {"v": 5.0}, NS0 + 50 * SEC)])
    results = q(store, ["v"], start=T0 + timedelta(seconds=10), step=timedelta(minutes=1), agg="max")
    assert as_tuples(results) == [("v", {}, [(NS0, 5.0)])]


def _two_hosts(store: TimeSeriesStore) -> None:
    store.write(
        tenant=TENANT,
        points=[
            Point("cpu", {"host": "a", "dc": "x"}, {"v": 1.0}, NS0),
            Point("cpu", {"host": "a", "dc": "x"}, {"v": 3.0}, NS0 + SEC),
            Point("cpu", {"host": "b", "dc": "x"}, {"v": 10.0}, NS0),
            Point("cpu", {"host": "c", "dc": "y"}, {"v": 100.0}, NS0),
            Point("cpu", {"dc": "y"}, {"v": 1000.0}, NS0),
        ],
    )


def test_tag_filters(store: TimeSeriesStore) -> None:
    _two_hosts(store)
    assert as_tuples(q(store, ["v"], tags={"host": "a"})) == [("v", {}, [(NS0, 1.0), (NS0 + SEC, 3.0)])]
    assert as_tuples(q(store, ["v"], tags={"host": "b", "dc": "x"})) == [("v", {}, [(NS0, 10.0)])]
    assert q(store, ["v"], tags={"host": "b", "dc": "y"}) == []
    assert as_tuples(q(store, ["v"], tags={"dc": "y"}, step=timedelta(minutes=1), agg="sum")) == [
        ("v", {}, [(NS0, 1100.0)])
    ]


def test_group_by_tags(store: TimeSeriesStore) -> None:
    _two_hosts(store)
    results = q(store, ["v"], step=timedelta(minutes=1), agg="sum", group_by=["host"])
    assert as_tuples(results) == [
        ("v", {"host": ""}, [(NS0, 1000.0)]),
        ("v", {"host": "a"}, [(NS0, 4.0)]),
        ("v", {"host": "b"}, [(NS0, 10.0)]),
        ("v", {"host": "c"}, [(NS0, 100.0)]),
    ]
    by_dc = q(store, ["v"], tags={"dc": "x"}, group_by=["dc"])
    assert [(r.tags, sorted(v for _, v in r.points)) for r in by_dc] == [({"dc": "x"}, [1.0, 3.0, 10.0])]


def test_tenant_isolation(store: TimeSeriesStore) -> None:
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "a"}, {"v": 1.0}, NS0)])
    store.write(tenant=OTHER, points=[Point("cpu", {"host": "a"}, {"v": 2.0}, NS0)])
    assert as_tuples(q(store, ["v"])) == [("v", {}, [(NS0, 1.0)])]
    assert as_tuples(q(store, ["v"], tenant=OTHER, tags={"host": "a"})) == [("v", {}, [(NS0, 2.0)])]
    assert q(store, ["v"], tenant="303") == []
    # A tenant cannot smuggle itself into another's data through the reserved tag.
    with pytest.raises(StoreError, match="reserved"):
        store.write(tenant=OTHER, points=[Point("cpu", {"beacon_tenant": TENANT}, {"v": 9.0}, NS0)])
    assert as_tuples(q(store, ["v"])) == [("v", {}, [(NS0, 1.0)])]


def test_idempotent_overwrite_keeps_one_point_with_the_latest_value(store: TimeSeriesStore) -> None:
    point = Point("cpu", {"host": "a", "dc": "x"}, {"v": 1.0, "keep": 7}, NS0)
    store.write(tenant=TENANT, points=[point])
    # Same series (tags in another order) and time: v overwritten, keep untouched.
    store.write(tenant=TENANT, points=[Point("cpu", {"dc": "x", "host": "a"}, {"v": 2.0}, NS0)])
    # And twice inside one batch: the later one wins.
    store.write(
        tenant=TENANT,
        points=[
            Point("cpu", {"host": "a", "dc": "x"}, {"v": 3.0}, NS0),
            Point("cpu", {"host": "a", "dc": "x"}, {"v": 4.0}, NS0),
        ],
    )
    assert as_tuples(q(store, ["v", "keep"])) == [("v", {}, [(NS0, 4.0)]), ("keep", {}, [(NS0, 7)])]


def test_type_conflict_inside_a_batch_stores_nothing(store: TimeSeriesStore) -> None:
    batch = [Point("cpu", {"host": "a"}, {"v": 1.0}, NS0), Point("cpu", {"host": "b"}, {"v": 2}, NS0)]
    with pytest.raises(StoreError, match=r"'v'.*int.*float"):
        store.write(tenant=TENANT, points=batch)
    assert q(store, ["v"]) == []


def test_type_conflict_with_stored_data_stores_nothing(store: TimeSeriesStore) -> None:
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "a"}, {"v": 1.0}, NS0)])
    batch = [
        Point("cpu", {"host": "new"}, {"ok": 5.0}, NS0 + SEC),
        Point("cpu", {"host": "a"}, {"v": "text"}, NS0 + SEC),
    ]
    with pytest.raises(StoreError, match=re.escape("field type conflict: 'cpu'.'v' is str in this write but float")):
        store.write(tenant=TENANT, points=batch)
    assert as_tuples(q(store, ["v", "ok"])) == [("v", {}, [(NS0, 1.0)])]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Point("cpu", {"host": "a"}, {"v": float("nan")}, NS0), "NaN"),
        (Point("cpu", {"host": "line\nbreak"}, {"v": 1.0}, NS0), "newline"),
        (Point("cpu", {"host": "trailing\\"}, {"v": 1.0}, NS0), "ends with a backslash"),
        (Point("cpu", {"host": "a\\ b"}, {"v": 1.0}, NS0), "backslash before ' '"),
        (Point("cpu", {"host": ""}, {"v": 1.0}, NS0), "empty"),
        (Point("cpu", {"host": "a"}, {}, NS0), "no fields"),
        (Point("cpu", {"host": "a"}, {"v": 2**63}, NS0), "int64"),
    ],
)
def test_rejected_points_name_the_problem_and_store_nothing(store: TimeSeriesStore, bad: Point, message: str) -> None:
    good = Point("cpu", {"host": "good"}, {"v": 1.0}, NS0)
    with pytest.raises(StoreError, match=message) as caught:
        store.write(tenant=TENANT, points=[good, bad])
    assert "point 1" in str(caught.value)
    assert q(store, ["v"]) == []


HOSTILE = ["a,b=c d", "q\"uo'te", "back\\slash", "x=y", "uni✓ cøde 日本", "  spaced  ", "comma,", "=eq"]


def test_hostile_tag_values_round_trip_exactly(store: TimeSeriesStore) -> None:
    store.write(
        tenant=TENANT,
        points=[Point("cpu", {"host": h, "we ird,key=": h}, {"v": float(i)}, NS0 + i) for i, h in enumerate(HOSTILE)],
    )
    grouped = q(store, ["v"], group_by=["host"])
    assert sorted((r.tags["host"], r.points) for r in grouped) == sorted(
        (h, [(NS0 + i, float(i))]) for i, h in enumerate(HOSTILE)
    )
    for i, value in enumerate(HOSTILE):
        assert as_tuples(q(store, ["v"], tags={"host": value, "we ird,key=": value})) == [
            ("v", {}, [(NS0 + i, float(i))])
        ]


def test_numeric_aggregation_of_a_string_field_is_refused(store: TimeSeriesStore) -> None:
    store.write(tenant=TENANT, points=[Point("cpu", {}, {"s": "up"}, NS0)])
    with pytest.raises(StoreError, match="'mean' needs a numeric field; 's' is str"):
        q(store, ["s"], step=timedelta(minutes=1), agg="mean")
    assert as_tuples(q(store, ["s"], step=timedelta(minutes=1), agg="last")) == [("s", {}, [(NS0, "up")])]


def test_unknown_aggregation_and_naive_datetimes_are_refused(store: TimeSeriesStore) -> None:
    with pytest.raises(StoreError, match="unknown aggregation 'median'"):
        q(store, ["v"], step=timedelta(minutes=1), agg="median")
    with pytest.raises(StoreError, match="no time zone"):
        q(store, ["v"], start=datetime(2026, 1, 1))


def test_the_tenant_tag_cannot_be_queried_or_grouped(store: TimeSeriesStore) -> None:
    with pytest.raises(StoreError, match="reserved for the tenant"):
        q(store, ["v"], tags={"beacon_tenant": OTHER})
    with pytest.raises(StoreError, match="reserved for the tenant"):
        q(store, ["v"], group_by=["beacon_tenant"])


def _described(store: TimeSeriesStore, tenant: str, tags: dict[str, str]) -> list[tuple[object, ...]]:
    return [
        (s.measurement, s.tags, [(f.name, f.kind, f.time_ns, f.value) for f in s.fields])
        for s in store.series(tenant=tenant, tags=tags)
    ]


def test_series_lists_every_series_with_field_types_and_newest_points(store: TimeSeriesStore) -> None:
    total = {"device": "d1", "cpu": "cpu-total"}
    store.write(
        tenant=TENANT,
        points=[
            Point("cpu", total, {"usage_user": 1.5, "n": 3}, NS0),
            Point("cpu", total, {"usage_user": 2.5}, NS0 + MIN),  # newer; `n` keeps its older point
            Point("mem", {"device": "d1"}, {"used": 10, "ok": True, "state": "fine"}, NS0 + 2 * MIN),
            Point("net", {"device": "d1", "interface": "eth1"}, {"bytes": 7}, NS0 + SEC),
            Point("net", {"device": "d1", "interface": "eth0"}, {"bytes": 5}, NS0),
            Point("cpu", {"device": "d2"}, {"usage_user": 99.0}, NS0),  # another device
        ],
    )
    store.write(tenant=OTHER, points=[Point("disk", {"device": "d1"}, {"used": 1}, NS0)])  # same device name
    assert _described(store, TENANT, {"device": "d1"}) == [
        ("cpu", total, [("n", "int", NS0, 3), ("usage_user", "float", NS0 + MIN, 2.5)]),
        (
            "mem",
            {"device": "d1"},
            [
                ("ok", "bool", NS0 + 2 * MIN, True),
                ("state", "str", NS0 + 2 * MIN, "fine"),
                ("used", "int", NS0 + 2 * MIN, 10),
            ],
        ),
        ("net", {"device": "d1", "interface": "eth0"}, [("bytes", "int", NS0, 5)]),
        ("net", {"device": "d1", "interface": "eth1"}, [("bytes", "int", NS0 + SEC, 7)]),
    ]
    assert _described(store, OTHER, {"device": "d1"}) == [("disk", {"device": "d1"}, [("used", "int", NS0, 1)])]
    assert _described(store, TENANT, {"device": "nope"}) == []
    assert [s.measurement for s in store.series(tenant=TENANT)] == ["cpu", "cpu", "mem", "net", "net"]
    with pytest.raises(StoreError, match="reserved for the tenant"):
        store.series(tenant=TENANT, tags={"beacon_tenant": OTHER})


def _two_mounts(store: TimeSeriesStore) -> None:
    # The agent's disk points: one series per mount, both on one device.
    store.write(
        tenant=TENANT,
        points=[
            Point("disk", {"device": "edge-01", "path": "/", "fstype": "ext4"}, {"used_percent": 40.0}, NS0),
            Point("disk", {"device": "edge-01", "path": "/data", "fstype": "xfs"}, {"used_percent": 90.0}, NS0),
        ],
    )


def disk(store: TimeSeriesStore, **kw: object) -> list[tuple[str, dict[str, str], list[tuple[int, object]]]]:
    kw.setdefault("step", timedelta(minutes=1))
    results = store.query(tenant=TENANT, measurement="disk", fields=["used_percent"], start=START, end=END, **kw)  # type: ignore[arg-type]
    return as_tuples(results)


def test_two_mounts_are_two_series_when_grouped_or_filtered_not_their_mean(store: TimeSeriesStore) -> None:
    _two_mounts(store)
    device = {"device": "edge-01"}
    assert disk(store, tags=device) == [("used_percent", {}, [(NS0, 65.0)])]  # what the device page drew
    assert disk(store, tags=device, group_by=["path"]) == [
        ("used_percent", {"path": "/"}, [(NS0, 40.0)]),
        ("used_percent", {"path": "/data"}, [(NS0, 90.0)]),
    ]
    assert disk(store, tags={**device, "path": "/"}) == [("used_percent", {}, [(NS0, 40.0)])]
    assert disk(store, tags=device, group_by=["path", "fstype"], agg="last") == [
        ("used_percent", {"path": "/", "fstype": "ext4"}, [(NS0, 40.0)]),
        ("used_percent", {"path": "/data", "fstype": "xfs"}, [(NS0, 90.0)]),
    ]
    # Raw points (no step) are split the same way.
    assert disk(store, tags=device, group_by=["path"], step=None) == [
        ("used_percent", {"path": "/"}, [(NS0, 40.0)]),
        ("used_percent", {"path": "/data"}, [(NS0, 90.0)]),
    ]


def test_several_values_of_one_tag_match_any_and_tags_all(store: TimeSeriesStore) -> None:
    _two_hosts(store)
    either = q(store, ["v"], tags={"host": ["a", "c"]}, step=timedelta(minutes=1), agg="sum")
    assert as_tuples(either) == [("v", {}, [(NS0, 104.0)])]
    grouped = q(
        store, ["v"], tags={"host": ("c", "b", "a", "b"), "dc": ["x"]}, group_by=["host"], agg="max", step=MINUTE
    )
    assert as_tuples(grouped) == [("v", {"host": "a"}, [(NS0, 3.0)]), ("v", {"host": "b"}, [(NS0, 10.0)])]
    assert q(store, ["v"], tags={"host": ["nobody", "nor-me"]}) == []
    with pytest.raises(StoreError, match="'host' filter has no values"):
        q(store, ["v"], tags={"host": []})


def test_hostile_or_values_cannot_reach_another_tenant(store: TimeSeriesStore) -> None:
    store.write(tenant=OTHER, points=[Point("cpu", {"host": "a"}, {"v": 666.0}, NS0)])
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "a'"}, {"v": 1.0}, NS0)])
    hostile = ["a' OR '1'='1", "a') OR (\"host\" = 'a", "a\\", "a'", '") OR ("beacon_tenant" = \'202']
    results = q(store, ["v"], tags={"host": hostile}, group_by=["host"])
    assert as_tuples(results) == [("v", {"host": "a'"}, [(NS0, 1.0)])]


def test_group_cap_counts_groups_with_points_in_range(store: TimeSeriesStore) -> None:
    _two_hosts(store)  # groups "", a, b, c in range
    # "a0" sorts among the groups but has no point in range: it must neither count nor push "c" out.
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "a0"}, {"v": 5.0}, NS0 - 2 * 3600 * SEC)])
    four = q(store, ["v"], group_by=["host"], step=MINUTE, max_groups=4)
    assert [r.tags["host"] for r in four] == ["", "a", "b", "c"]
    with pytest.raises(StoreTooManyGroups) as caught:
        q(store, ["v"], group_by=["host"], step=MINUTE, max_groups=3)
    assert caught.value.limit == 3 and str(caught.value) == "more than 3 groups"
    with pytest.raises(StoreTooManyGroups):
        q(store, ["v"], group_by=["host"], max_groups=1)  # raw points too
    # Filters first, then the cap: two hosts fit under a cap of two.
    two = q(store, ["v"], tags={"host": ["a", "b"]}, group_by=["host"], step=MINUTE, max_groups=2)
    assert [(r.tags, r.points) for r in two] == [({"host": "a"}, [(NS0, 2.0)]), ({"host": "b"}, [(NS0, 10.0)])]
    with pytest.raises(StoreError, match="names a tag twice"):
        q(store, ["v"], group_by=["host", "host"])
