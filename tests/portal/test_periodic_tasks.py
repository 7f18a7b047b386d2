"""setup_periodic_tasks: schedules defined in settings.PERIODIC_TASKS become beat rows, idempotently."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from portal.periodic_tasks import MANAGED_MARK

pytestmark = pytest.mark.django_db

DEFINITIONS = {
    "beat-heartbeat": {"task": "portal.beat_heartbeat", "schedule": 30, "options": {"expires": 30}},
    "timeseries-retention": {
        "task": "timeseries.prune_timeseries",
        "schedule": {"minute": "17", "hour": "3"},
        "kwargs": {},
        "description": "daily retention",
    },
}


def _rows() -> list[tuple[Any, ...]]:
    return list(
        PeriodicTask.objects.order_by("name").values_list(
            "id",
            "name",
            "task",
            "interval_id",
            "crontab_id",
            "kwargs",
            "expire_seconds",
            "enabled",
            "description",
            "date_changed",
        )
    )


def _run() -> str:
    out = StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    return out.getvalue().strip()


def test_migrate_already_wrote_the_settings_schedules() -> None:
    # pytest-django's migrate of the test database fired the post-migrate hook.
    heartbeat = PeriodicTask.objects.get(name="beat-heartbeat")
    assert heartbeat.task == "portal.beat_heartbeat"
    assert (heartbeat.interval.every, heartbeat.interval.period) == (30, IntervalSchedule.SECONDS)
    retention = PeriodicTask.objects.get(name="timeseries-retention")
    assert retention.task == "timeseries.prune_timeseries"
    assert (retention.crontab.minute, retention.crontab.hour, retention.crontab.day_of_week) == ("17", "3", "*")
    assert retention.crontab.timezone.key == "UTC"


def test_running_twice_leaves_the_same_rows(settings: Any) -> None:
    PeriodicTask.objects.all().delete()
    settings.PERIODIC_TASKS = DEFINITIONS
    assert _run() == "Periodic tasks: created beat-heartbeat, timeseries-retention"
    first = _rows()
    counts = (IntervalSchedule.objects.count(), CrontabSchedule.objects.count())

    assert _run() == "Periodic tasks: unchanged beat-heartbeat, timeseries-retention"
    assert _rows() == first  # same ids, same values, not even date_changed moved
    assert (IntervalSchedule.objects.count(), CrontabSchedule.objects.count()) == counts
    retention = PeriodicTask.objects.get(name="timeseries-retention")
    assert retention.description == f"{MANAGED_MARK} daily retention"
    assert PeriodicTask.objects.get(name="beat-heartbeat").expire_seconds == 30


def test_changes_update_in_place_and_stale_owned_rows_go(settings: Any) -> None:
    settings.PERIODIC_TASKS = DEFINITIONS
    _run()
    retention_id = PeriodicTask.objects.get(name="timeseries-retention").id
    by_hand = PeriodicTask.objects.create(
        name="made in the admin", task="portal.beat_heartbeat", interval=IntervalSchedule.objects.first()
    )

    settings.PERIODIC_TASKS = {"timeseries-retention": {"task": "timeseries.prune_timeseries", "schedule": 3600}}
    assert _run() == "Periodic tasks: updated timeseries-retention; removed beat-heartbeat"

    retention = PeriodicTask.objects.get(name="timeseries-retention")
    assert retention.id == retention_id
    assert (retention.interval.every, retention.crontab) == (3600, None)
    assert retention.description == MANAGED_MARK
    assert set(PeriodicTask.objects.values_list("name", flat=True)) == {"timeseries-retention", by_hand.name}


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"task": "timeseries.prune_timesries", "schedule": 60}, "'timeseries.prune_timesries'"),
        ({"task": "portal.beat_heartbeat", "schedule": 0}, "use a positive number of seconds"),
        ({"task": "portal.beat_heartbeat", "schedule": {"minutes": "5"}}, "use a positive number of seconds"),
        ({"task": "portal.beat_heartbeat", "schedule": 5, "every": 5}, "unknown: ['every']"),
        ({"task": "portal.beat_heartbeat", "schedule": 5, "options": {"countdown": 1}}, "accepts only"),
    ],
)
def test_bad_definitions_are_refused_naming_the_entry_and_write_nothing(
    settings: Any, definition: dict[str, object], message: str
) -> None:
    before = _rows()
    settings.PERIODIC_TASKS = {**DEFINITIONS, "broken": definition}
    with pytest.raises(CommandError) as excinfo:
        _run()
    assert message in str(excinfo.value)
    assert "broken" in str(excinfo.value)
    assert _rows() == before
