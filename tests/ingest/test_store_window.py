"""`window_aggregates`: several aggregates of several fields over one window per group, one query, same answers
on `sql` (PostgreSQL, and SQLite through raw points) and `influx` (influxd 1.6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.ingest.test_store_contract import END, NS0, OTHER, SEC, START, T0, TENANT, store  # noqa: F401
from tests.ingest.test_store_sqlite import ROOT
from timeseries import Point, StoreError, StoreQueryInvalid, TimeSeriesStore

ALL = [("v", "mean"), ("v", "min"), ("v", "max"), ("v", "last"), ("n", "sum"), ("n", "last"), ("s", "last")]


def _seed(backend: TimeSeriesStore) -> None:
    backend.write(
        tenant=TENANT,
        points=[
            # host a: two series (cpu 0 and 1), merged in the group: mean of all four points, not of the means
            Point("cpu", {"host": "a", "cpu": "0"}, {"v": 1.0, "n": 1, "s": "up"}, NS0),
            Point("cpu", {"host": "a", "cpu": "0"}, {"v": 3.0, "n": 2, "s": "down"}, NS0 + 20 * SEC),
            Point("cpu", {"host": "a", "cpu": "1"}, {"v": 10.0, "n": 4}, NS0 + 10 * SEC),
            Point("cpu", {"host": "a", "cpu": "1"}, {"v": 6.0, "n": 8}, NS0 + 30 * SEC),  # newest of host a
            Point("cpu", {"host": "b"}, {"v": 5.0}, NS0 + 5 * SEC),
            Point("cpu", {"host": "b"}, {"v": 500.0}, NS0 + 90 * SEC),  # after the window
            Point("cpu", {"host": "b"}, {"v": 700.0}, NS0 - 1),  # before it
            Point("cpu", {}, {"v": 7.0}, NS0 + 1 * SEC),  # no host tag: the "" group
        ],
    )
    backend.write(tenant=OTHER, points=[Point("cpu", {"host": "a"}, {"v": 1000.0, "n": 1000}, NS0 + SEC)])


def window(backend: TimeSeriesStore, aggregates: list[tuple[str, str]], **kw: Any) -> dict[Any, Any]:
    kw.setdefault("group_by", ["host"])
    return backend.window_aggregates(
        tenant=TENANT, measurement="cpu", aggregates=aggregates, start=T0, end=T0 + timedelta(minutes=1), **kw
    )


def test_every_aggregate_of_every_field_per_group(store: TimeSeriesStore) -> None:  # noqa: F811
    _seed(store)
    assert window(store, ALL) == {
        ("v", "mean"): {("",): 7.0, ("a",): 5.0, ("b",): 5.0},
        ("v", "min"): {("",): 7.0, ("a",): 1.0, ("b",): 5.0},
        ("v", "max"): {("",): 7.0, ("a",): 10.0, ("b",): 5.0},
        ("v", "last"): {("",): 7.0, ("a",): 6.0, ("b",): 5.0},
        ("n", "sum"): {("a",): 15},  # int stays int
        ("n", "last"): {("a",): 8},
        ("s", "last"): {("a",): "down"},
    }
    # The same figures as `query` over one bucket, grouped the same way.
    for field, agg in ALL:
        results = store.query(
            tenant=TENANT, measurement="cpu", fields=[field], start=T0, end=T0 + timedelta(minutes=1),
            step=timedelta(days=30000), agg=agg, group_by=["host"],  # type: ignore[arg-type]
        )  # fmt: skip
        assert {tuple(r.tags.values()): r.points[0][1] for r in results} == window(store, ALL)[(field, agg)]


def test_filters_grouping_and_nothing_found(store: TimeSeriesStore) -> None:  # noqa: F811
    _seed(store)
    assert window(store, [("v", "max")], tags={"host": ["a", "b"]}) == {("v", "max"): {("a",): 10.0, ("b",): 5.0}}
    assert window(store, [("v", "max")], tags={"cpu": "1"}, group_by=["host", "cpu"]) == {
        ("v", "max"): {("a", "1"): 10.0}
    }
    assert window(store, [("v", "max")], group_by=[]) == {("v", "max"): {(): 10.0}}
    assert window(store, [("never", "max")]) == {}
    assert window(store, [("v", "max")], tags={"host": "zzz"}) == {}
    whole = store.window_aggregates(
        tenant=TENANT, measurement="cpu", aggregates=[("v", "last")], start=START, end=END, group_by=["host"]
    )
    assert whole == {("v", "last"): {("",): 7.0, ("a",): 6.0, ("b",): 500.0}}


def test_refused_like_query(store: TimeSeriesStore) -> None:  # noqa: F811
    _seed(store)
    with pytest.raises(StoreQueryInvalid, match="aggregation 'mean' needs a numeric field; 's' is str"):
        window(store, [("v", "max"), ("s", "mean")])
    with pytest.raises(StoreError, match="reserved"):
        window(store, [("v", "max")], group_by=["beacon_tenant"])
    with pytest.raises(StoreError, match="unknown aggregation"):
        window(store, [("v", "median")])


def test_sql_reads_every_aggregate_in_one_statement(db: None, settings: Any) -> None:
    from timeseries import get_store, reset_store

    settings.TIMESERIES_BACKEND = "sql"
    reset_store()
    _seed(get_store())
    with CaptureQueriesContext(connection) as queries:
        window(get_store(), [("v", "mean"), ("v", "max"), ("v", "last"), ("v", "min")])
    points = [q["sql"] for q in queries.captured_queries if "ingest_datapoint" in q["sql"]]
    assert len(points) == 1 and "GROUP BY" in points[0]
    reset_store()


SQLITE = r"""
import json, django
django.setup()
from datetime import UTC, datetime, timedelta
from django.core.management import call_command
from django.db import connection
from timeseries import Point, StoreQueryInvalid, get_store
call_command("migrate", verbosity=0)
assert connection.vendor == "sqlite"
store, T0 = get_store(), datetime(2026, 11, 1, 12, tzinfo=UTC)
ns, S = int(T0.timestamp()) * 10**9, 10**9
store.write(tenant="1", points=[
    Point("cpu", {"host": "a", "cpu": "0"}, {"v": 1.0, "n": 1, "s": "up"}, ns),
    Point("cpu", {"host": "a", "cpu": "1"}, {"v": 6.0, "n": 8, "s": "down"}, ns + 30 * S),
    Point("cpu", {"host": "b"}, {"v": 5.0}, ns + 5 * S), Point("cpu", {"host": "b"}, {"v": 500.0}, ns + 90 * S)])
found = store.window_aggregates(tenant="1", measurement="cpu", start=T0, end=T0 + timedelta(minutes=1),
    aggregates=[("v", "mean"), ("v", "last"), ("n", "sum"), ("s", "last")], group_by=["host"])
out = {f"{f}.{a}": sorted([list(k), v] for k, v in column.items()) for (f, a), column in found.items()}
try:
    store.window_aggregates(tenant="1", measurement="cpu", start=T0, end=T0 + timedelta(minutes=1),
                            aggregates=[("s", "mean")])
except StoreQueryInvalid as exc:
    out["refused"] = str(exc)
print(json.dumps(out))
"""


def test_window_aggregates_on_sqlite(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DEBUG="1", BEACON_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings", LOG_DIR=str(tmp_path))
    env["TIMESERIES_BACKEND"] = "sql"
    command = [sys.executable, "-c", SQLITE]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "v.mean": [[["a"], 3.5], [["b"], 5.0]],
        "v.last": [[["a"], 6.0], [["b"], 5.0]],
        "n.sum": [[["a"], 9]],
        "s.last": [[["a"], "down"]],
        "refused": "aggregation 'mean' needs a numeric field; 's' is str",
    }
