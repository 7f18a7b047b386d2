"""The current period of a quota: monthly from a reset day, daily, or custom lengths from creation (all UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from quotas.models import Quota


def _month_start(year: int, month: int, day: int) -> datetime:
    while month < 1:
        year, month = year - 1, month + 12
    while month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, day, tzinfo=UTC)


def monthly_period(now: datetime, reset_day: int = 1) -> tuple[datetime, datetime]:
    now = now.astimezone(UTC)
    month = now.month if now.day >= reset_day else now.month - 1
    start = _month_start(now.year, month, reset_day)
    return start, _month_start(start.year, start.month + 1, reset_day)


def daily_period(now: datetime) -> tuple[datetime, datetime]:
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def custom_period(now: datetime, origin: datetime, seconds: int) -> tuple[datetime, datetime]:
    elapsed = max(0.0, (now - origin).total_seconds())
    start = origin + timedelta(seconds=int(elapsed // seconds) * seconds)
    return start, start + timedelta(seconds=seconds)


def quota_period(quota: Quota, now: datetime) -> tuple[datetime, datetime]:
    if quota.period == Quota.Period.DAILY:
        return daily_period(now)
    if quota.period == Quota.Period.CUSTOM:
        return custom_period(now, quota.created_at, int(quota.period_seconds or 86400))
    return monthly_period(now, quota.reset_day)
