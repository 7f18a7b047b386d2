"""Time bands drawn behind the pages' charts (load-test run windows, ...), gathered from settings.CHART_BANDS.

Each entry is a dotted path to a callable `(organization, start, end) -> list[dict]` returning the bands that
overlap [start, end): `{"start", "end"}` (ISO 8601; `end` may be None for "still running"), `"label"`, `"url"`.
Every source also takes `device` (None, or the device whose page the charts are on, from `device=<slug>`): a
source with per-device bands answers that device's only (alerts: its firing periods); one without (load-test
runs concern the whole organization) ignores it.
Gathered here, in the top layer, and handed to the charts' script by `GET /o/<org>/chart-bands`, so the apps
drawing charts (ingest, quotas) never import the apps providing bands (loadtests) — they are siblings.
A source that raises or answers something malformed is logged and left out: a band is decoration, and one
broken source must not blank every chart.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Organization
from accounts.tenancy import page_organization
from devices.models import Device
from portal.api import timeparams
from portal.api.errors import InvalidRequest

logger = logging.getLogger(__name__)
MAX_BANDS = 200  # per answer: a chart shows a handful; hundreds would be an unreadable smear anyway


class BandSource(Protocol):
    def __call__(
        self, organization: Organization, start: datetime, end: datetime, device: Device | None = None
    ) -> list[dict[str, Any]]: ...


@cache
def _source(path: str) -> BandSource:
    found: BandSource = import_string(path)
    return found


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromisoformat(str(value))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _clean(band: dict[str, Any], end: datetime) -> dict[str, Any]:
    start_iso = _iso(band["start"])
    if start_iso is None:
        raise ValueError("a band needs a start")
    return {
        "start": start_iso,
        "end": _iso(band.get("end")) or end.astimezone(UTC).isoformat(),  # still running: up to the window's end
        "label": str(band.get("label") or ""),
        "url": str(band.get("url") or ""),
    }


def chart_bands(
    organization: Organization, start: datetime, end: datetime, device: Device | None = None
) -> list[dict[str, Any]]:
    bands: list[dict[str, Any]] = []
    for path in settings.CHART_BANDS:
        try:
            found = _source(path)(organization, start, end, device=device)
            bands.extend(_clean(band, end) for band in found)
        except Exception:  # decoration: log the source, keep the others and the chart
            logger.exception("chart band source %s failed; its bands are left out", path)
    bands.sort(key=lambda band: band["start"])
    return bands[:MAX_BANDS]


@login_required
def chart_bands_view(request: HttpRequest, org: str) -> JsonResponse:
    """`GET /o/<org>/chart-bands?start=&end=[&device=<slug>]` (the history API's time forms), for the charts'
    script; `device`: the bands of that device's charts."""
    organization = page_organization(request.user, org)
    now = timezone.now()
    device = None
    try:
        start = timeparams.parse_time("start", request.GET.get("start") or "-1h", now)
        end = timeparams.parse_time("end", request.GET.get("end") or "now", now)
        if start >= end:
            raise InvalidRequest(f"parameter 'start': {request.GET.get('start')!r} is not before end")
        slug = request.GET.get("device")
        if slug is not None:
            device = Device.objects.filter(organization=organization, slug=slug).first()
            if device is None:  # another organization's device reads the same: no such device here
                raise InvalidRequest(f"parameter 'device': no device {slug!r} in this organization")
    except InvalidRequest as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    bands = chart_bands(organization, start, end, device)
    return JsonResponse({"start": start.isoformat(), "end": end.isoformat(), "bands": bands})
