"""The services section of the organization overview (settings.OVERVIEW_SECTIONS): one quota bar per quota.

Also what the service page shows for each quota (`quota_rows`), so both say the same about a quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Organization
from quotas import selectors
from quotas.models import GatewayService
from quotas.status import Forecast, QuotaStatus, forecast, quota_statuses

# Forecasts read the store once per quota; an overview of more quotas than this shows the bars without them.
OVERVIEW_FORECASTS = 20


@dataclass(frozen=True, slots=True)
class QuotaRow:
    status: QuotaStatus
    forecast: Forecast | None
    forecast_known: bool  # False: not asked (too many quotas) or the store could not say

    @property
    def title(self) -> str:
        quota = self.status.quota
        period = {"monthly": "Monthly", "daily": "Daily"}.get(quota.period) or f"{_every(quota.period_seconds)}"
        return f"{period} {quota.direction} quota"

    @property
    def percent(self) -> float:
        return round(self.status.usage_percent, 1)

    @property
    def bar_width(self) -> float:
        return min(100.0, max(0.0, self.percent))

    @property
    def level(self) -> str:
        """ok below the lowest threshold, warn from it, over at 100 %: the bar's colour and its word."""
        lowest = min(self.status.quota.thresholds, default=80)
        if self.percent >= 100:
            return "over"
        return "warn" if self.percent >= lowest else "ok"


def _every(seconds: int | None) -> str:
    seconds = seconds or 0
    if seconds in (86400, 3600):
        return "Daily" if seconds == 86400 else "Hourly"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"Every {unit}" if count == 1 else f"Every {count} {unit}s"
    return f"Every {seconds} s"


def quota_rows(statuses: list[QuotaStatus], *, now: datetime, forecasts: bool = True) -> list[QuotaRow]:
    rows = []
    for status in statuses:
        predicted = forecast(status, now=now) if forecasts else None
        rows.append(QuotaRow(status, predicted, predicted is not None))
    return rows


def overview(request: HttpRequest, organization: Organization) -> dict[str, Any]:
    """Every gateway service with its quotas' bars (used/limit, %, period end, forecast)."""
    now = timezone.now()
    services = list(selectors.service_list(organization=organization))
    statuses = quota_statuses(selectors.quota_list(organization=organization), now=now)
    rows = quota_rows(statuses, now=now, forecasts=len(statuses) <= OVERVIEW_FORECASTS)
    by_service: dict[int, list[QuotaRow]] = {}
    for row in rows:
        by_service.setdefault(row.status.quota.service_id, []).append(row)
    month = selectors.month_usage(services=services, now=now)
    return {
        "services": [_service(s, by_service.get(s.id, []), month.get(s.id)) for s in services],
        "now": now,
    }


def _service(service: GatewayService, rows: list[QuotaRow], month: Any) -> dict[str, Any]:
    return {
        "service": service,
        "quotas": rows,
        "month_bytes": (month.ingress_bytes + month.egress_bytes) if month else 0,
    }
