"""The sql store's batch path on Postgres: COPY straight into the points table, and the savepoint fallback
to the upsert when a (series, field, time) already exists or repeats. Same answers as before: idempotent
overwrite, later duplicates win, all or nothing, each kind in its own column."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from timeseries.base import Point, StoreError
from timeseries.models import DataPoint
from timeseries.sql import SMALL_WRITE_ROWS, SqlStore

pytestmark = pytest.mark.django_db(transaction=True)

TENANT = "7"
NS0 = 1_700_000_000 * 10**9


@pytest.fixture(autouse=True)
def _postgres() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is Postgres only (SQLite: executemany, covered by the contract tests)")
    yield


def _batch(count: int, *, start: int = 0, scale: float = 1.0) -> list[Point]:
    """`count` points over 5 devices, one float, int, str and bool field each (4 kinds, 4 columns)."""
    return [
        Point(
            "edge",
            {"device": f"d{i % 5}"},
            {"cpu": i * scale, "n": i, "state": f"s{i}", "up": i % 2 == 0},
            NS0 + i * 10**9,
        )
        for i in range(start, start + count)
    ]


def _rows() -> dict[tuple[str, str, int], tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.tags->>'device', d.field, d.time_ns, d.value_float, d.value_int, d.value_str, d.value_bool "
            "FROM ingest_datapoint d JOIN ingest_series s ON s.id = d.series_id"
        )
        return {(dev, field, t): tuple(values) for dev, field, t, *values in cursor.fetchall()}


def _staging_used() -> bool:
    """The upsert path's temp table exists in this session only once the fallback ran."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.beacon_points_in') IS NOT NULL")
        return bool(cursor.fetchone()[0])


def test_new_batch_goes_in_by_copy_with_every_kind_in_its_column() -> None:
    store = SqlStore()
    points = _batch(40)  # 160 values: over SMALL_WRITE_ROWS, so the COPY path
    assert 4 * len(points) > SMALL_WRITE_ROWS
    store.write(tenant=TENANT, points=points)
    rows = _rows()
    assert len(rows) == 160
    assert rows[("d3", "cpu", NS0 + 3 * 10**9)] == (3.0, None, None, None)
    assert rows[("d3", "n", NS0 + 3 * 10**9)] == (None, 3, None, None)
    assert rows[("d3", "state", NS0 + 3 * 10**9)] == (None, None, "s3", None)
    assert rows[("d3", "up", NS0 + 3 * 10**9)] == (None, None, None, False)
    assert not _staging_used()  # straight COPY, no temp table and no upsert


def test_rewriting_a_batch_falls_back_to_the_upsert_and_overwrites() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=_batch(40))
    store.write(tenant=TENANT, points=_batch(40, scale=10.0))  # same series and times, new float values
    rows = _rows()
    assert len(rows) == 160  # overwritten, not doubled
    assert rows[("d1", "cpu", NS0 + 11 * 10**9)] == (110.0, None, None, None)
    assert rows[("d1", "n", NS0 + 11 * 10**9)] == (None, 11, None, None)
    assert _staging_used()
    # And again: idempotent.
    store.write(tenant=TENANT, points=_batch(40, scale=10.0))
    assert _rows() == rows


def test_partly_overlapping_batch_stores_the_new_and_overwrites_the_old() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=_batch(40))
    store.write(tenant=TENANT, points=_batch(40, start=20, scale=2.0))  # 20 known points, 20 new
    rows = _rows()
    assert len(rows) == 60 * 4
    assert rows[("d0", "cpu", NS0 + 10 * 10**9)] == (10.0, None, None, None)  # untouched
    assert rows[("d0", "cpu", NS0 + 25 * 10**9)] == (50.0, None, None, None)  # overwritten
    assert rows[("d4", "cpu", NS0 + 59 * 10**9)] == (118.0, None, None, None)  # new


def test_duplicate_within_a_batch_later_wins() -> None:
    store = SqlStore()
    points = _batch(40)
    points.append(Point("edge", {"device": "d2"}, {"cpu": -1.0, "n": -1, "state": "last", "up": True}, NS0 + 7 * 10**9))
    store.write(tenant=TENANT, points=points)
    rows = _rows()
    assert len(rows) == 160
    assert rows[("d2", "cpu", NS0 + 7 * 10**9)] == (-1.0, None, None, None)
    assert rows[("d2", "state", NS0 + 7 * 10**9)] == (None, None, "last", None)


def test_copy_inside_a_failed_transaction_leaves_nothing_and_remembers_nothing() -> None:
    store = SqlStore()
    with pytest.raises(RuntimeError), transaction.atomic():
        store.write(tenant=TENANT, points=_batch(40))
        assert len(_rows()) == 160
        raise RuntimeError("the caller's transaction fails after the write")
    assert _rows() == {} and store._series_ids == {}


def test_fallback_inside_the_callers_transaction_keeps_its_earlier_work() -> None:
    """The savepoint undoes only the failed COPY: rows the same transaction wrote before stay."""
    store = SqlStore()
    store.write(tenant=TENANT, points=_batch(40))
    with transaction.atomic():
        store.write(tenant=TENANT, points=_batch(40, start=100))  # new: COPY
        store.write(tenant=TENANT, points=_batch(40, scale=3.0))  # conflicts: savepoint, then upsert
    rows = _rows()
    assert len(rows) == 320
    assert rows[("d0", "cpu", NS0 + 100 * 10**9)] == (100.0, None, None, None)
    assert rows[("d0", "cpu", NS0 + 5 * 10**9)] == (15.0, None, None, None)


def test_refused_batch_writes_nothing() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=_batch(40))
    bad = _batch(40, start=200)
    bad[30] = Point("edge", {"device": "d0"}, {"cpu": "text", "n": 1, "state": "x", "up": True}, NS0)
    with pytest.raises(StoreError, match="field 'cpu' of 'edge' is str but earlier in this batch it is float"):
        store.write(tenant=TENANT, points=bad)
    # Against the stored type (int), the whole batch sending `n` as float:
    bad = [Point(p.measurement, p.tags, {**p.fields, "n": 0.5}, p.time_ns) for p in _batch(40, start=300)]
    with pytest.raises(StoreError, match=r"'edge'\.'n' is float in this write but int in the store"):
        store.write(tenant=TENANT, points=bad)
    assert DataPoint.objects.count() == 160  # none of the good points of either batch
