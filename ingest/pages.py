"""The device page /o/<org>/devices/<device>/: what the device has written, its newest values, and charts.

The page is rendered with the newest values (one series-discovery read); the charts then load and refresh
themselves from /api/v1/history and /api/v1/devices/<slug>/series with the member's session and `?org=`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.tenancy import page_organization
from devices.models import Device
from devices.selectors import device_list
from ingest import selectors
from portal.api.errors import Unavailable
from timeseries import SeriesInfo

# The fixed charts: (id, title, measurement, fields, unit, group_by). With `group_by` a chart draws one line
# per value of that tag (each mount, each interface); without it, several tag sets (per-core CPUs) are
# drawn as their mean, as the history API answers them.
CHARTS: tuple[dict[str, Any], ...] = (
    {
        "id": "cpu",
        "title": "CPU",
        "measurement": "cpu",
        "fields": ["usage_user", "usage_system", "usage_iowait"],
        "unit": "%",
    },
    {"id": "mem", "title": "Memory used", "measurement": "mem", "fields": ["used_percent"], "unit": "%"},
    {
        "id": "disk",
        "title": "Disk used per mount",
        "measurement": "disk",
        "fields": ["used_percent"],
        "unit": "%",
        "group_by": "path",
    },
    {
        "id": "net",
        "title": "Network per interface",
        "measurement": "net",
        "fields": ["bytes_recv_per_sec", "bytes_sent_per_sec"],
        "unit": "B/s",
        "group_by": "interface",
    },
)
# Series tables shown unfolded; the rest are one click away (an agent writes ~100 fields).
OPEN_MEASUREMENTS = ("cpu", "mem", "system")
RANGES = (("1h", "1 hour"), ("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days"), ("custom", "Custom"))


@login_required
def device_page(request: HttpRequest, org: str, device: str) -> HttpResponse:
    organization = page_organization(request.user, org)
    found: Device | None = device_list(organization=organization).filter(slug=device).first()
    if found is None:
        raise Http404("No such device in this organization.")
    store_error = None
    try:
        series = selectors.device_series(organization=organization, device=found)
    except Unavailable as exc:
        series, store_error = [], str(exc)
    written = {s.measurement for s in series}
    numeric = sorted({(s.measurement, f.name) for s in series for f in s.fields if f.kind in ("float", "int")})
    context = {
        "organization": organization,
        "device": found,
        "series": [_series_rows(info) for info in series],
        "store_error": store_error,
        "ranges": RANGES,
        "open_measurements": OPEN_MEASUREMENTS,
        "page_config": {
            "org": organization.slug,
            "device": found.name,
            "slug": found.slug,
            # Charts of measurements the device never wrote say so instead of drawing an empty grid.
            "charts": [{**chart, "present": chart["measurement"] in written} for chart in CHARTS],
            "numeric_fields": [f"{m}.{f}" for m, f in numeric],
            "refresh_seconds": settings.PAGES_REFRESH_SECONDS,
        },
    }
    return render(request, "ingest/device.html", context)


def series_key(measurement: str, tags: dict[str, str], field: str) -> str:
    """The key a latest-value cell carries, so the page's script can update it (device.js builds the same)."""
    return f"{measurement}|{','.join(f'{k}={v}' for k, v in sorted(tags.items()))}|{field}"


def _series_rows(info: SeriesInfo) -> dict[str, Any]:
    fields = [
        {
            "name": f.name,
            "kind": f.kind,
            "value": f.value,
            "time": datetime.fromtimestamp(f.time_ns / 1e9, tz=UTC),
            "key": series_key(info.measurement, info.tags, f.name),
        }
        for f in info.fields
    ]
    return {"measurement": info.measurement, "tags": info.tags, "fields": fields}
