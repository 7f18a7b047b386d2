"""The sql backend on SQLite (the embedded demo's database), run in a child process with DATABASE_URL unset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = r"""
import json, django
django.setup()
from datetime import UTC, datetime, timedelta
from django.core.management import call_command
from django.db import connection
from timeseries import Point, StoreError, StoreTooManyGroups, get_store
from timeseries.retention import timeseries_prune
call_command("migrate", verbosity=0)
assert connection.vendor == "sqlite"
store = get_store()
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
NS0 = int(T0.timestamp()) * 10**9
MIN, SEC = 60 * 10**9, 10**9
rows = [(NS0, 1), (NS0 + 30 * SEC, 3), (NS0 + 2 * MIN, 20), (NS0 + 2 * MIN + 5 * SEC, 10), (NS0 + 3 * MIN, 1000)]
store.write(tenant="1", points=[Point("cpu", {"host": "a,b=c d"}, {"v": float(v), "n": v}, t) for t, v in rows])
store.write(tenant="1", points=[Point("cpu", {"host": "b"}, {"v": 5.0, "s": "up", "b": True}, NS0 - 10 * SEC)])
store.write(tenant="2", points=[Point("cpu", {"host": "a,b=c d"}, {"v": 99.0}, NS0)])
store.write(tenant="1", points=[Point("cpu", {"host": "b"}, {"v": 6.0}, NS0 - 10 * SEC)])  # overwrite
out = {}
try:
    batch = [Point("cpu", {"host": "z"}, {"v": 1.0}, NS0), Point("cpu", {"host": "b"}, {"s": 5}, NS0)]
    store.write(tenant="1", points=batch)
except StoreError as exc:
    out["conflict"] = str(exc)
end = T0 + timedelta(minutes=3)
for agg in ("mean", "min", "max", "sum", "last"):
    res = store.query(tenant="1", measurement="cpu", fields=["v", "n"], start=T0, end=end,
                      step=timedelta(minutes=1), agg=agg, tags={"host": "a,b=c d"})
    out[agg] = [[r.field, r.points] for r in res]
res = store.query(tenant="1", measurement="cpu", fields=["v", "s", "b"], start=T0 - timedelta(hours=1), end=T0,
                  group_by=["host"])
out["raw"] = [[r.field, r.tags, r.points] for r in res]
res = store.query(tenant="1", measurement="cpu", fields=["v"], start=T0 - timedelta(minutes=1), end=end,
                  step=timedelta(minutes=1), agg="sum", group_by=["host"])
out["grouped"] = [[r.tags, r.points] for r in res]
out["described"] = [[i.measurement, i.tags, [[f.name, f.kind, f.time_ns, f.value] for f in i.fields]]
                    for i in store.series(tenant="1", tags={"host": "b"})]
res = store.query(tenant="1", measurement="cpu", fields=["v"], start=T0 - timedelta(minutes=1), end=end,
                  step=timedelta(minutes=1), agg="last", group_by=["host"], tags={"host": ["b", "a,b=c d"]},
                  max_groups=2)
out["grouped_last"] = [[r.tags, r.points] for r in res]
try:
    store.query(tenant="1", measurement="cpu", fields=["v"], start=T0 - timedelta(minutes=1), end=end,
                group_by=["host"], max_groups=1)
except StoreTooManyGroups as exc:
    out["capped"] = str(exc)
out["pruned"] = timeseries_prune(retention_days=1, batch_size=2, now_ns=NS0 + 86_400 * 10**9 + SEC)
print(json.dumps(out))
"""


def test_sql_backend_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DEBUG="1", BEACON_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings", LOG_DIR=str(tmp_path))
    env["TIMESERIES_BACKEND"] = "sql"
    proc = subprocess.run(
        [sys.executable, "-c", SCENARIO], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    ns0 = int(1793534400 * 1e9)
    two = ns0 + 120 * 10**9
    assert out["mean"] == [["v", [[ns0, 2.0], [two, 15.0]]], ["n", [[ns0, 2.0], [two, 15.0]]]]
    assert out["min"] == [["v", [[ns0, 1.0], [two, 10.0]]], ["n", [[ns0, 1], [two, 10]]]]
    assert out["max"] == [["v", [[ns0, 3.0], [two, 20.0]]], ["n", [[ns0, 3], [two, 20]]]]
    assert out["sum"] == [["v", [[ns0, 4.0], [two, 30.0]]], ["n", [[ns0, 4], [two, 30]]]]
    assert out["last"] == [["v", [[ns0, 3.0], [two, 10.0]]], ["n", [[ns0, 3], [two, 10]]]]
    before = ns0 - 10 * 10**9
    assert out["raw"] == [
        ["v", {"host": "b"}, [[before, 6.0]]],
        ["s", {"host": "b"}, [[before, "up"]]],
        ["b", {"host": "b"}, [[before, True]]],
    ]
    assert out["grouped"] == [
        [{"host": "a,b=c d"}, [[ns0, 4.0], [two, 30.0]]],
        [{"host": "b"}, [[ns0 - 60 * 10**9, 6.0]]],
    ]
    assert out["grouped_last"] == [
        [{"host": "a,b=c d"}, [[ns0, 3.0], [two, 10.0]]],
        [{"host": "b"}, [[ns0 - 60 * 10**9, 6.0]]],
    ]
    assert out["capped"] == "more than 1 groups"
    assert out["conflict"] == "field type conflict: 'cpu'.'s' is int in this write but str in the store"
    # The newest point of each field host b holds (v was overwritten with 6.0), on SQLite's CTE + MAX probe.
    assert out["described"] == [
        ["cpu", {"host": "b"}, [["b", "bool", before, True], ["s", "str", before, "up"], ["v", "float", before, 6.0]]]
    ]
    # Everything before NS0 + 1 s: host b's 3 values, the first point's v and n, tenant 2's point.
    assert out["pruned"] == 6
