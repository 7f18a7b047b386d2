"""Celery tasks: thin wrappers; the claim in `attempts` makes running one twice harmless.

`deliver` is enqueued after commit for low latency. `deliver_due` runs every few seconds from beat and is
what makes delivery robust: retries are rows with a `next_attempt_at`, not countdown messages, so a lost
message, a restarted worker or a broker flush only delays a delivery until the next sweep.
"""

from __future__ import annotations

from celery import shared_task

from notifications import attempts


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str | None:
    return attempts.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="notifications.deliver_due", ignore_result=True)
def deliver_due() -> int:
    return attempts.run_due()
