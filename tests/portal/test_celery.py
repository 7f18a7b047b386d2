"""Real processes: a beat sends the retention task through a real broker, a real worker prunes the sql store."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from portal.periodic_tasks import periodic_tasks_sync
from tests.celery_fixtures import Broker, CeleryProcess, CeleryStarter
from timeseries import Point
from timeseries.models import DataPoint
from timeseries.sql import SqlStore

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 86_400 * 1_000_000_000


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, *logs: CeleryProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.role}\n{p.log()[-2000:]}" for p in logs)
            pytest.fail(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.3)


def test_beat_enqueues_retention_and_a_worker_prunes_the_store(
    celery_producer: Broker, start_celery: CeleryStarter, client: Any, settings: Any
) -> None:
    now = time.time_ns()
    old = [Point("cpu", {"host": "a"}, {"v": 1.0}, now - 31 * DAY - i) for i in range(4)]
    kept = [Point("cpu", {"host": "a"}, {"v": 2.0}, now - 29 * DAY - i) for i in range(3)]
    SqlStore().write(tenant="1", points=old + kept)
    assert DataPoint.objects.count() == 7
    # Every second instead of daily, so the test need not wait for 03:17.
    periodic_tasks_sync(definitions={"timeseries-retention": {"task": "timeseries.prune_timeseries", "schedule": 1}})

    worker, beat = start_celery.all(["worker", "beat"], celery_producer)

    _wait_for(lambda: DataPoint.objects.count() == 3, 90, "the worker to prune the 4 old points", worker, beat)
    assert sorted(DataPoint.objects.values_list("time_ns", flat=True)) == sorted(p.time_ns for p in kept)
    beat.wait_for_log(r"Sending due task timeseries-retention \(timeseries\.prune_timeseries\)")
    done = worker.wait_for_log(r"Task timeseries\.prune_timeseries\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: (\d+)")
    assert done.group(1) == "4", "the first run deletes exactly the four points past the 30-day retention"
    # The next ticks find nothing left to delete.
    worker.wait_for_log(r"Task timeseries\.prune_timeseries\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: 0")
    assert f"Connected to {celery_producer.kind}://" in worker.log()

    row = PeriodicTask.objects.get(name="timeseries-retention")
    assert row.total_run_count >= 2 and row.last_run_at is not None

    # The same beat's ticks are what /health/ready reports; the broker is the one this test runs on.
    body = client.get("/health/ready").json()
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["broker"]["transport"] == celery_producer.kind
    assert body["checks"]["beat"]["status"] == "ok"
    assert 0 <= body["checks"]["beat"]["age_seconds"] < 30


def test_a_task_enqueued_by_this_process_runs_on_the_worker(
    celery_producer: Broker, celery_worker: CeleryProcess
) -> None:
    from timeseries.tasks import prune_timeseries

    now = time.time_ns()
    SqlStore().write(tenant="1", points=[Point("m", {}, {"v": 1.0}, now - 40 * DAY), Point("m", {}, {"v": 2.0}, now)])

    result = prune_timeseries.delay()

    done = celery_worker.wait_for_log(rf"Task timeseries\.prune_timeseries\[{result.id}\] succeeded in \S+: (\d+)")
    assert done.group(1) == "1"
    assert list(DataPoint.objects.values_list("time_ns", flat=True)) == [now]
