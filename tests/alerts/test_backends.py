"""One store query per rule, on both backends (PostgreSQL `sql` and a real influxd): the same readings."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import AlertRule
from alerts.readings import rule_readings
from tests.alerts.conftest import T0, cpu_rule, seconds, write

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("last", {"edge-000": 70.0, "edge-001": 95.0}), ("mean", {"edge-000": 80.0, "edge-001": 90.0}),
     ("min", {"edge-000": 70.0, "edge-001": 85.0}), ("max", {"edge-000": 90.0, "edge-001": 95.0})],
)  # fmt: skip
def test_threshold_readings_aggregate_over_the_window(
    org: Any, make_devices: Any, any_store: Any, aggregation: str, expected: dict[str, float]
) -> None:
    make_devices(3)
    for device, values in [("edge-000", [90, 80, 70]), ("edge-001", [85, 90, 95])]:
        for i, value in enumerate(values):
            write(org, device, value, T0 + seconds(10 * i))
    write(org, "edge-000", 1000, T0 - seconds(120))  # before the window
    write(org, "edge-002", 1000, T0 + seconds(60))  # at its end: outside [start, end)
    rule = cpu_rule(org, aggregation=aggregation, window_seconds=60, value=85.0)
    readings = rule_readings(AlertRule.objects.select_related("organization").get(id=rule.id), T0 + seconds(60))
    names = dict(rule.organization.devices.values_list("id", "name"))
    assert {names[r.device_id]: r.value for r in readings} == expected
    assert {names[r.device_id]: r.bad for r in readings} == {d: v > 85 for d, v in expected.items()}


def test_split_by_on_both_backends(org: Any, make_devices: Any, any_store: Any) -> None:
    make_devices(2)
    for device, path, used in [("edge-000", "/", 40), ("edge-000", "/data", 97), ("edge-001", "/", 91)]:
        write(org, device, used, T0, measurement="disk", field="used", path=path)
    rule = cpu_rule(org, measurement="disk", field="used", split_by="path", value=90.0)
    readings = rule_readings(AlertRule.objects.select_related("organization").get(id=rule.id), T0 + seconds(30))
    names = dict(rule.organization.devices.values_list("id", "name"))
    assert sorted((names[r.device_id], r.series, r.value, r.bad) for r in readings) == [
        ("edge-000", "/", 40.0, False),
        ("edge-000", "/data", 97.0, True),
        ("edge-001", "/", 91.0, True),
    ]


def test_a_rule_over_many_devices_is_one_points_query_without_a_series_id_list(
    org: Any, make_devices: Any, sql_store: Any
) -> None:
    from timeseries import Point, get_store

    devices = make_devices(300)
    ns = int(T0.timestamp()) * 10**9
    points = [Point("cpu", {"device": d.name, "cpu": c}, {"usage": 50.0}, ns) for d in devices for c in ("0", "1")]
    get_store().write(tenant=str(org.id), points=points)
    rule = cpu_rule(org, split_by="cpu")
    with CaptureQueriesContext(connection) as queries:
        readings = rule_readings(AlertRule.objects.select_related("organization").get(id=rule.id), T0 + seconds(30))
    assert len(readings) == 600
    points_queries = [q["sql"] for q in queries.captured_queries if "ingest_datapoint" in q["sql"]]
    assert len(points_queries) == 1
    # PostgreSQL joins the series and groups in SQL: no series-id list travels (not 600 + 1200 bound values).
    sql = points_queries[0]
    assert "JOIN ingest_series" in sql and "ANY(" not in sql and "VALUES" not in sql and len(sql) < 2000
