"""The service page /o/<org>/services/<service>/: traffic, each quota's usage this period with its limit
line and forecast, and the quota notifications sent for the service.

Rendered with the quotas' figures (the same reads as the quota API); the charts then load themselves from
/api/v1/services/<name>/bandwidth with the member's session and `?org=`, and the time bands (load-test
runs, ...) from /o/<org>/chart-bands, which the top layer gathers: quotas knows nothing of load tests.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.tenancy import page_organization
from quotas import selectors
from quotas.sections import quota_rows
from quotas.status import quota_statuses

RANGES = (("1h", "1 hour"), ("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days"), ("custom", "Custom"))


@login_required
def service_page(request: HttpRequest, org: str, service: str) -> HttpResponse:
    organization = page_organization(request.user, org)
    found = selectors.service_get(organization=organization, name=service)
    if found is None:
        raise Http404("No such service in this organization.")
    now = timezone.now()
    rows = quota_rows(
        quota_statuses(selectors.quota_list(organization=organization).filter(service=found), now=now), now=now
    )
    month = selectors.month_usage(services=[found], now=now).get(found.id)
    quotas = [
        {
            "id": row.status.quota.id,
            "title": row.title,
            "direction": row.status.quota.direction,
            "limit_bytes": row.status.quota.limit_bytes,
            "used_bytes": row.status.used_bytes,
            "thresholds": row.status.quota.thresholds,
            "period_start": row.status.period_start.isoformat(),
            "period_end": row.status.period_end.isoformat(),
            "rate_bytes_per_second": row.forecast.rate_bytes_per_second if row.forecast else None,
        }
        for row in rows
    ]
    context = {
        "organization": organization,
        "service": found,
        "quotas": rows,
        "month_ingress": month.ingress_bytes if month else 0,
        "month_egress": month.egress_bytes if month else 0,
        "notifications": selectors.service_notifications(organization=organization, service=found),
        "ranges": RANGES,
        "page_config": {
            "org": organization.slug,
            "service": found.name,
            "quotas": quotas,
            "now": now.isoformat(),
            "refresh_seconds": settings.PAGES_REFRESH_SECONDS,
        },
    }
    return render(request, "quotas/service.html", context)
