"""Group commit of small sql-store writes (timeseries.sql_write.GroupCommit): concurrent pushes of one process
share one INSERT, each returns only once its rows are committed, a failed statement fails all of its writers.

Real PostgreSQL, real threads (each its own connection). The first writer's statement is held until the
others have queued behind it, so which writers share a statement is decided, not left to timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from timeseries import Point, StoreUnavailable
from timeseries.sql import SqlStore
from timeseries.sql_write import Rows

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
NS0 = int(T0.timestamp()) * 1_000_000_000
TENANT = "302"
FIELDS = ("a", "b", "c", "d", "e")


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("group commit is the PostgreSQL store's")


def _push(store: SqlStore, host: str, i: int, value: float | None = None) -> Callable[[], None]:
    fields = {name: float(i) if value is None else value for name in FIELDS}
    return lambda: store.write(tenant=TENANT, points=[Point("cpu", {"host": host}, fields, NS0 + i)])


def _stored(store: SqlStore, host: str, field: str = "a") -> list[tuple[int, object]]:
    [series] = store.query(
        tenant=TENANT,
        measurement="cpu",
        fields=[field],
        start=T0 - timedelta(hours=1),
        end=T0 + timedelta(hours=1),
        tags={"host": [host]},
    ) or [None]
    return list(series.points) if series else []


class _Held:
    """Wraps the store's grouped INSERT: records each statement's rows; the first is held until released."""

    def __init__(self, store: SqlStore, *, fail_batch: int | None = None) -> None:
        self.store = store
        self.real = store._upsert_grouped
        self.batches: list[Rows] = []
        self.release = threading.Event()
        self.fail_batch = fail_batch
        store._upsert_grouped = self  # type: ignore[method-assign]

    def __call__(self, rows: Rows) -> None:
        number = len(self.batches)
        self.batches.append(dict(rows))
        if number == 0:
            assert self.release.wait(timeout=20)
        if number == self.fail_batch:
            # A real outage of this statement's connection: the server ends the backend under it.
            connection.ensure_connection()
            info = connection.connection.info
            with psycopg.connect(info.dsn, autocommit=True) as admin:
                pid = info.backend_pid
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        self.real(rows)


def _start(job: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            job()
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _run_grouped(store: SqlStore, held: _Held, jobs: list[Callable[[], None]]) -> list[BaseException]:
    """jobs[0] leads and is held; the others queue behind it in order; then the leader is released."""
    errors: list[BaseException] = []
    threads = [_start(jobs[0], errors)]
    _wait_for(lambda: len(held.batches) == 1)
    for n, job in enumerate(jobs[1:], start=1):
        threads.append(_start(job, errors))
        _wait_for(lambda n=n: len(store._group._queue) == n)  # type: ignore[misc]
    held.release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return errors


def _warm(store: SqlStore, hosts: list[str]) -> None:
    # Series and field types known: later pushes take the small-write path that groups.
    for host in hosts:
        store.write(tenant=TENANT, points=[Point("cpu", {"host": host}, dict.fromkeys(FIELDS, 0.0), NS0 - 1)])


def test_queued_pushes_share_one_statement_and_each_is_stored_once() -> None:
    store = SqlStore()
    hosts = [f"h{n}" for n in range(8)]
    _warm(store, hosts)
    held = _Held(store)
    errors = _run_grouped(store, held, [_push(store, host, n + 1) for n, host in enumerate(hosts)])
    assert errors == []
    # The leader's statement alone, then one statement for the seven writers that queued behind it.
    assert [len(b) for b in held.batches] == [5, 35]
    for n, host in enumerate(hosts):
        assert _stored(store, host) == [(NS0 - 1, 0.0), (NS0 + n + 1, float(n + 1))]


def test_the_later_of_two_queued_writes_of_one_point_wins() -> None:
    store = SqlStore()
    _warm(store, ["x", "lead"])
    held = _Held(store)
    errors = _run_grouped(store, held, [_push(store, "lead", 1), _push(store, "x", 7, 1.0), _push(store, "x", 7, 2.0)])
    assert errors == []
    assert [len(b) for b in held.batches] == [5, 5]  # one row per (series, field, time): ON CONFLICT needs that
    assert _stored(store, "x") == [(NS0 - 1, 0.0), (NS0 + 7, 2.0)]


def test_a_failed_statement_fails_every_writer_of_its_batch_and_stores_none_of_them() -> None:
    store = SqlStore()
    hosts = ["lead", "f1", "f2", "f3"]
    _warm(store, hosts)
    held = _Held(store, fail_batch=1)
    errors = _run_grouped(store, held, [_push(store, host, 5) for host in hosts])
    assert [len(b) for b in held.batches] == [5, 15]
    assert len(errors) == 3 and all(isinstance(e, StoreUnavailable) for e in errors), errors
    assert _stored(store, "lead") == [(NS0 - 1, 0.0), (NS0 + 5, 5.0)]
    for host in hosts[1:]:
        assert _stored(store, host) == [(NS0 - 1, 0.0)]
    # The group is free again: the next push leads its own statement.
    _push(store, "f1", 6)()
    assert _stored(store, "f1") == [(NS0 - 1, 0.0), (NS0 + 6, 6.0)]


def test_a_write_inside_a_transaction_does_not_join_the_group(monkeypatch: Any) -> None:
    store = SqlStore()
    _warm(store, ["t"])
    monkeypatch.setattr(store, "_group", None)  # would raise AttributeError if used
    with pytest.raises(RuntimeError), transaction.atomic():
        _push(store, "t", 3)()
        assert _stored(store, "t") == [(NS0 - 1, 0.0), (NS0 + 3, 3.0)]  # its own transaction sees it
        raise RuntimeError("roll back")
    assert _stored(store, "t") == [(NS0 - 1, 0.0)]
