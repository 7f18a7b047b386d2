"""Retention of the sql backend: the service deletes in batches, the command reports the count."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command

from timeseries import Point
from timeseries.models import DataPoint
from timeseries.retention import timeseries_prune
from timeseries.sql import SqlStore

DAY = 86_400 * 1_000_000_000


@pytest.fixture
def aged_points(db: None) -> int:
    now = time.time_ns()
    store = SqlStore()
    old = [Point("cpu", {"host": "a"}, {"v": 1.0, "n": 1}, now - 31 * DAY - i) for i in range(5)]  # 10 values
    new = [Point("cpu", {"host": "a"}, {"v": 2.0}, now - 29 * DAY - i) for i in range(3)]
    store.write(tenant="1", points=old + new)
    store.write(tenant="2", points=[Point("cpu", {}, {"v": 3.0}, now - 40 * DAY)])
    return now


def test_prune_deletes_only_points_past_retention_in_batches(aged_points: int) -> None:
    batches: list[tuple[int, int]] = []
    deleted = timeseries_prune(retention_days=30, batch_size=4, on_batch=lambda d, t: batches.append((d, t)))
    assert deleted == 11
    # Per (series, field): host a's n (4 + 1) and v (4 + 1), then tenant 2's v (1).
    assert batches == [(4, 4), (1, 5), (4, 9), (1, 10), (1, 11)]
    assert DataPoint.objects.count() == 3
    assert all(p.time_ns > aged_points - 30 * DAY for p in DataPoint.objects.all())
    assert timeseries_prune(retention_days=30) == 0


def test_prune_command_prints_progress_and_count(aged_points: int, settings: object) -> None:
    settings.TIMESERIES_RETENTION_DAYS = 35  # type: ignore[attr-defined]
    out = StringIO()
    call_command("prune_timeseries", "--batch-size", "1", stdout=out)
    text = out.getvalue()
    assert "older than 35 days in batches of 1" in text
    assert "deleted 1 (total 1)" in text
    assert text.strip().endswith("Deleted 1 points older than 35 days.")
    assert DataPoint.objects.count() == 13


def test_prune_command_leaves_influx_retention_to_influxdb(aged_points: int, settings: object) -> None:
    settings.TIMESERIES_BACKEND = "influx"  # type: ignore[attr-defined]
    out = StringIO()
    call_command("prune_timeseries", stdout=out)
    assert "InfluxDB enforces retention itself" in out.getvalue()
    assert DataPoint.objects.count() == 14
