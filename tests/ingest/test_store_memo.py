"""The sql store's per-process memos (series ids, field types): fast, and never wrong.

Two SqlStore instances stand for two gunicorn workers; threads give each its own database
connection, and the database is transactional so each sees what the other committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from timeseries import Point, StoreError
from timeseries.models import FieldType, Series
from timeseries.sql import SMALL_WRITE_ROWS, SqlStore

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NS0 = int(T0.timestamp()) * 1_000_000_000
TENANT = "301"


def _values(store: SqlStore, field: str, tags: dict[str, str] | None = None) -> list[tuple[int, object]]:
    results = store.query(
        tenant=TENANT,
        measurement="cpu",
        fields=[field],
        start=T0 - timedelta(hours=1),
        end=T0 + timedelta(hours=1),
        tags=tags,
    )
    return [p for r in results for p in r.points]


def _in_threads(*jobs: Callable[[], None]) -> list[BaseException]:
    """Run the jobs at the same moment, each in its own thread (own DB connection); return their errors."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return errors


def test_two_processes_create_the_same_new_series_concurrently() -> None:
    a, b = SqlStore(), SqlStore()
    errors = _in_threads(
        lambda: a.write(tenant=TENANT, points=[Point("cpu", {"host": "new"}, {"v": 1.0}, NS0)]),
        lambda: b.write(tenant=TENANT, points=[Point("cpu", {"host": "new"}, {"v": 2.0}, NS0 + 1)]),
    )
    assert errors == []
    rows = list(Series.objects.filter(tenant=TENANT).values_list("id", "key_hash"))
    assert len(rows) == 1
    sid, key = rows[0]
    assert a._series_ids == {key: sid} and b._series_ids == {key: sid}
    assert a._kinds == {(TENANT, "cpu", "v"): "float"} == b._kinds
    # Warm: both keep writing through their memos into the one series.
    a.write(tenant=TENANT, points=[Point("cpu", {"host": "new"}, {"v": 3.0}, NS0 + 2)])
    b.write(tenant=TENANT, points=[Point("cpu", {"host": "new"}, {"v": 4.0}, NS0 + 3)])
    assert _values(a, "v") == [(NS0, 1.0), (NS0 + 1, 2.0), (NS0 + 2, 3.0), (NS0 + 3, 4.0)]


def test_concurrent_first_writes_of_different_types_store_exactly_one() -> None:
    a, b = SqlStore(), SqlStore()
    errors = _in_threads(
        lambda: a.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 1.5}, NS0)]),
        lambda: b.write(tenant=TENANT, points=[Point("cpu", {"host": "y"}, {"v": "text"}, NS0)]),
    )
    assert len(errors) == 1 and isinstance(errors[0], StoreError)
    assert "field type conflict" in str(errors[0])
    (kind,) = FieldType.objects.filter(tenant=TENANT, measurement="cpu", field="v").values_list("kind", flat=True)
    winner, loser = (a, b) if kind == "float" else (b, a)
    assert winner._kinds == {(TENANT, "cpu", "v"): kind}
    assert loser._kinds == {}  # the refused write's transaction rolled back: nothing remembered
    assert Series.objects.filter(tenant=TENANT).count() == 1  # the loser's series rolled back too


def test_type_memoised_by_one_process_is_enforced_by_another() -> None:
    a, b = SqlStore(), SqlStore()
    a.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 1.5}, NS0)])
    assert a._kinds == {(TENANT, "cpu", "v"): "float"}
    with pytest.raises(StoreError, match=r"'cpu'\.'v' is str in this write but float in the store"):
        b.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": "text"}, NS0 + 1)])
    # And by the process that memoised it, without asking the database.
    with CaptureQueriesContext(connection) as queries, pytest.raises(StoreError, match="is bool in this write"):
        a.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": True}, NS0 + 2)])
    assert [q["sql"] for q in queries.captured_queries] == []
    assert _values(a, "v") == [(NS0, 1.5)]


def test_warm_small_write_is_one_insert_and_committed() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 1.0, "n": 2}, NS0)])
    with CaptureQueriesContext(connection) as queries:
        store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 5.0, "n": 7}, NS0)])
    # Not even BEGIN/COMMIT: one statement is atomic by itself and commits before write() returns.
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO ingest_datapoint"), statements
    assert connection.get_autocommit()
    assert _values(store, "v") == [(NS0, 5.0)] and _values(store, "n") == [(NS0, 7)]


def test_rolled_back_write_is_not_remembered() -> None:
    store = SqlStore()
    with pytest.raises(RuntimeError), transaction.atomic():
        store.write(tenant=TENANT, points=[Point("cpu", {"host": "gone"}, {"v": 1.0}, NS0)])
        raise RuntimeError("the caller's transaction fails after the write")
    assert store._series_ids == {} and store._kinds == {}
    assert Series.objects.filter(tenant=TENANT).count() == 0
    # The next write creates the series and type for real instead of trusting a rolled-back id.
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "gone"}, {"v": 2.0}, NS0)])
    (sid,) = Series.objects.filter(tenant=TENANT).values_list("id", flat=True)
    assert list(store._series_ids.values()) == [sid]
    assert FieldType.objects.filter(tenant=TENANT, field="v", kind="float").count() == 1
    assert _values(store, "v") == [(NS0, 2.0)]


def test_memo_is_per_tenant() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 1.0}, NS0)])
    store.write(tenant="302", points=[Point("cpu", {"host": "x"}, {"v": "other tenant, other type"}, NS0)])
    assert store._kinds == {(TENANT, "cpu", "v"): "float", ("302", "cpu", "v"): "str"}
    assert Series.objects.filter(measurement="cpu").count() == 2
    assert len(set(store._series_ids.values())) == 2


def test_large_write_takes_the_copy_path_and_overwrites() -> None:
    store = SqlStore()
    n = SMALL_WRITE_ROWS + 50
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": float(i)}, NS0 + i) for i in range(n)])
    with CaptureQueriesContext(connection) as queries:
        store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": -float(i)}, NS0 + i) for i in range(n)])
    # COPY and the temp table run on the raw psycopg cursor, so Django logs no point INSERT here.
    assert not any(q["sql"].startswith("INSERT INTO ingest_datapoint") for q in queries.captured_queries)
    assert _values(store, "v") == [(NS0 + i, -float(i)) for i in range(n)]


def test_warm_write_inside_a_callers_transaction_rolls_back_with_it() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 1.0}, NS0)])
    with pytest.raises(RuntimeError), transaction.atomic():
        store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 9.0}, NS0 + 1)])  # memo path
        raise RuntimeError("the caller's transaction fails")
    assert _values(store, "v") == [(NS0, 1.0)]


def test_warm_write_with_a_new_series_or_field_takes_the_transaction() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "x"}, {"v": 1.0}, NS0)])
    with CaptureQueriesContext(connection) as queries:
        store.write(
            tenant=TENANT,
            points=[
                Point("cpu", {"host": "x"}, {"v": 2.0}, NS0 + 1),
                Point("cpu", {"host": "y"}, {"v": 3.0, "w": 4}, NS0 + 1),
            ],
        )
    statements = [q["sql"] for q in queries.captured_queries]
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert FieldType.objects.filter(tenant=TENANT, field="w", kind="int").count() == 1
    assert _values(store, "v", {"host": "y"}) == [(NS0 + 1, 3.0)]
    assert _values(store, "w") == [(NS0 + 1, 4)]


def _kept_cursor() -> Any:
    return getattr(connection.connection, "_beacon_preparing_cursor", None)


def test_small_writes_share_one_kept_cursor_per_connection_and_survive_a_reconnect() -> None:
    store = SqlStore()
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "k"}, {"v": 1.0}, NS0)])  # the series is new
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "k"}, {"v": 2.0}, NS0 + 1)])  # warm: the kept cursor
    kept = _kept_cursor()
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "k"}, {"v": 3.0}, NS0 + 2)])
    assert _kept_cursor() is kept  # not one cursor per write
    connection.close()  # as a worker's connection is recycled (CONN_MAX_AGE, an outage)
    store.write(tenant=TENANT, points=[Point("cpu", {"host": "k"}, {"v": 4.0}, NS0 + 3)])
    assert _kept_cursor() is not kept  # a new connection gets its own
    assert kept.connection.closed  # the old cursor went with its connection
    assert _values(store, "v", {"host": "k"}) == [(NS0, 1.0), (NS0 + 1, 2.0), (NS0 + 2, 3.0), (NS0 + 3, 4.0)]


def test_remembered_names_and_series_keys_are_exact() -> None:
    from timeseries import validation
    from timeseries.sql import series_key

    store = SqlStore()
    bad = "ends-with\\"
    for _ in range(2):  # refused both times: a bad text is never remembered
        with pytest.raises(StoreError, match="ends with a backslash"):
            store.write(tenant=TENANT, points=[Point("cpu", {"host": bad}, {"v": 1.0}, NS0)])
    assert bad not in validation._GOOD_TAG_TEXTS
    store.write(tenant=TENANT, points=[Point("cpu", {"b": "2", "a": "1"}, {"v": 1.0}, NS0)])
    store.write(tenant="302", points=[Point("cpu", {"a": "1", "b": "2"}, {"v": 2.0}, NS0)])
    remembered = {cheap[0]: key for cheap, key in store._keys.items() if cheap[2] == (("a", "1"), ("b", "2"))}
    # The memo answers what series_key computes, per tenant, whatever the tags' order.
    assert remembered == {t: series_key(t, "cpu", {"a": "1", "b": "2"}) for t in (TENANT, "302")}
    assert remembered[TENANT] != remembered["302"]
    assert Series.objects.filter(measurement="cpu", tags={"a": "1", "b": "2"}).count() == 2


def test_shared_tags_dicts_are_checked_and_keyed_once_and_exactly() -> None:
    from timeseries.sql import _series_keys, series_key

    shared = {"host": "a"}
    points = [
        Point("cpu", shared, {"v": 1.0}, NS0),
        Point("cpu", {"host": "a"}, {"v": 2.0}, NS0 + 1),  # equal content, another dict
        Point("cpu", shared, {"v": 3.0}, NS0 + 2),
        Point("mem", shared, {"v": 4.0}, NS0),  # the same dict under another measurement: another series
    ]
    keys = _series_keys(TENANT, points, {})
    assert keys[0] == keys[1] == keys[2] == series_key(TENANT, "cpu", {"host": "a"})
    assert keys[3] == series_key(TENANT, "mem", {"host": "a"}) != keys[0]
    store = SqlStore()
    bad = [Point("cpu", shared, {"v": 1.0}, NS0), Point("cpu", {"beacon_tenant": "x"}, {"v": 1.0}, NS0), points[2]]
    with pytest.raises(StoreError, match="reserved for the tenant") as refused:
        store.write(tenant=TENANT, points=bad)  # a second dict is checked, though the first was fine
    assert refused.value.point == 1
    assert _values(store, "v") == []
