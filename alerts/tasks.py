"""Celery task: the evaluation tick (schedule: settings.PERIODIC_TASKS, every ALERTS_EVAL_SECONDS)."""

from __future__ import annotations

from celery import shared_task

from alerts import services


@shared_task(name="alerts.evaluate", ignore_result=True, soft_time_limit=120, time_limit=150)
def evaluate() -> int:
    """Evaluate every enabled rule; returns how many notifications it created."""
    return services.alerts_evaluate()
