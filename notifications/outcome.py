"""What one delivery attempt came to, and when the next one is due."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

# A receiver's Retry-After is honoured up to this; a hostile "Retry-After: 10 years" is not.
RETRY_AFTER_CAP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Outcome:
    ok: bool
    response_code: int | None = None
    error: str = ""
    permanent: bool = False  # no retry: the target refused for good, or Beacon refused the target
    disable_reason: str = ""  # set on 410 Gone: disable the webhook endpoint
    retry_after: float | None = None  # seconds the receiver asked us to wait


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), RETRY_AFTER_CAP_SECONDS))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min((when - now).total_seconds(), RETRY_AFTER_CAP_SECONDS))


def retry_delay(*, attempts: int, retry_after: float | None) -> float | None:
    """Seconds until attempt `attempts + 1`, or None when the schedule is used up.

    The schedule (settings.NOTIFY_RETRY_DELAYS) is the Standard Webhooks one; up to 20 % jitter is added
    so receivers that failed together are not retried together. Retry-After only ever makes it later.
    """
    delays: list[int] = settings.NOTIFY_RETRY_DELAYS
    if attempts > len(delays):
        return None
    delay = delays[attempts - 1] * random.uniform(1.0, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def next_attempt_at(*, now: datetime, attempts: int, retry_after: float | None) -> datetime | None:
    delay = retry_delay(attempts=attempts, retry_after=retry_after)
    return None if delay is None else now + timedelta(seconds=delay)
