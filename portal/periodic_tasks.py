"""Beat schedules defined in code: settings.PERIODIC_TASKS → django-celery-beat rows.

`periodic_tasks_sync()` creates or updates one PeriodicTask per entry and deletes the rows it owns
(marked in their description) that the settings no longer name; rows added by hand in the admin are
left alone. Running it twice changes nothing the second time. Called by `manage.py setup_periodic_tasks`
and after every `migrate` (portal/apps.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

# Prefix of the description of every row this module owns (and may therefore delete).
MANAGED_MARK = "[setup_periodic_tasks]"
_KEYS = {"task", "schedule", "kwargs", "options", "description", "enabled"}
_CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
_OPTIONS = {"expires": "expire_seconds", "queue": "queue", "priority": "priority"}


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def summary(self) -> str:
        parts = [f"{label} {', '.join(names)}" for label, names in self._groups() if names]
        return "; ".join(parts) or "nothing to do"

    def _groups(self) -> list[tuple[str, list[str]]]:
        return [
            ("created", self.created),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("removed", self.removed),
        ]


def _schedule_fields(name: str, schedule: object, using: str) -> dict[str, Any]:
    """The PeriodicTask schedule foreign keys for `schedule` (seconds, or crontab fields)."""
    if isinstance(schedule, int) and not isinstance(schedule, bool) and schedule > 0:
        interval = IntervalSchedule.objects.using(using).filter(every=schedule, period=IntervalSchedule.SECONDS)
        return {
            "interval": interval.first()
            or IntervalSchedule.objects.using(using).create(every=schedule, period=IntervalSchedule.SECONDS),
            "crontab": None,
        }
    if isinstance(schedule, dict) and schedule and set(schedule) <= set(_CRONTAB_FIELDS):
        fields = {key: str(schedule.get(key, "*")) for key in _CRONTAB_FIELDS}
        crontabs = CrontabSchedule.objects.using(using).filter(**fields, timezone=settings.CELERY_TIMEZONE)
        return {
            "interval": None,
            "crontab": crontabs.first()
            or CrontabSchedule.objects.using(using).create(**fields, timezone=settings.CELERY_TIMEZONE),
        }
    raise ImproperlyConfigured(
        f"PERIODIC_TASKS[{name!r}]['schedule'] = {schedule!r}: use a positive number of seconds or a dict "
        f"of crontab fields ({', '.join(_CRONTAB_FIELDS)})."
    )


def _desired(name: str, entry: dict[str, object], using: str) -> dict[str, Any]:
    unknown = set(entry) - _KEYS
    if unknown or not isinstance(entry.get("task"), str):
        raise ImproperlyConfigured(
            f"PERIODIC_TASKS[{name!r}] needs a 'task' name and only the keys {sorted(_KEYS)}; "
            f"unknown: {sorted(unknown)}."
        )
    options = entry.get("options") or {}
    if not isinstance(options, dict) or set(options) - set(_OPTIONS):
        raise ImproperlyConfigured(f"PERIODIC_TASKS[{name!r}]['options'] accepts only {sorted(_OPTIONS)}.")
    values: dict[str, Any] = {
        "task": entry["task"],
        **_schedule_fields(name, entry.get("schedule"), using),
        "clocked": None,
        "solar": None,
        "args": "[]",
        "kwargs": json.dumps(entry.get("kwargs") or {}, sort_keys=True),
        "enabled": bool(entry.get("enabled", True)),
        "one_off": False,
        "description": f"{MANAGED_MARK} {entry.get('description') or ''}".strip(),
    }
    values.update({column: None for column in _OPTIONS.values()})
    values.update({_OPTIONS[key]: value for key, value in options.items()})
    return values


def _check_registered(definitions: dict[str, dict[str, object]]) -> None:
    """A misspelt task name would be sent by beat and refused by every worker: stop here instead."""
    from portal.celery import app

    app.loader.import_default_modules()  # autodiscovered tasks.py modules and CELERY_IMPORTS
    missing = {name: entry.get("task") for name, entry in definitions.items() if entry.get("task") not in app.tasks}
    if missing:
        raise ImproperlyConfigured(f"PERIODIC_TASKS name tasks that no installed app registers: {missing}.")


def periodic_tasks_sync(
    *, definitions: dict[str, dict[str, object]] | None = None, using: str = "default"
) -> SyncResult:
    """Make the beat rows match `definitions` (default settings.PERIODIC_TASKS); see the module docstring."""
    definitions = settings.PERIODIC_TASKS if definitions is None else definitions
    _check_registered(definitions)
    result = SyncResult()
    with transaction.atomic(using=using):
        for name, entry in definitions.items():
            values = _desired(name, entry, using)
            row = PeriodicTask.objects.using(using).filter(name=name).first()
            if row is None:
                PeriodicTask.objects.using(using).create(name=name, **values)
                result.created.append(name)
                continue
            if all(getattr(row, key) == value for key, value in values.items()):
                result.unchanged.append(name)
                continue
            for key, value in values.items():
                setattr(row, key, value)
            row.save(using=using)
            result.updated.append(name)
        stale = PeriodicTask.objects.using(using).filter(description__startswith=MANAGED_MARK)
        for row in stale.exclude(name__in=list(definitions)).order_by("name"):
            result.removed.append(row.name)
            row.delete(using=using)
        if result.changed:
            PeriodicTasks.update_changed()  # a running beat reloads its schedule on its next tick
    return result
