"""Celery tasks of loadtests (schedule: settings.PERIODIC_TASKS["loadtests-abandon-stale"])."""

from __future__ import annotations

from celery import shared_task

from loadtests import services


@shared_task(name="loadtests.abandon_stale", ignore_result=True)
def abandon_stale() -> int:
    """Every minute: running runs silent for LOADTEST_ABANDON_AFTER seconds become abandoned."""
    return services.runs_abandon_stale()
