"""Reads: metric history for one device, and the store's health for /api/v1/status."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from devices.models import ApiKey, Device, Organization
from devices.permissions import api_key_can_act_for_device
from ingest.errors import IngestInvalid, IngestUnavailable, NotFound
from ingest.timeseries import Aggregation, SeriesResult, StoreQueryInvalid, StoreUnavailable, get_store
from ingest.validation import DEVICE_TAG


def device_for_reading(*, organization: Organization, api_key: ApiKey | None, name: str) -> Device:
    """The org's device; a device-bound key sees only its own. Anything else is a 404."""
    device = Device.objects.filter(organization=organization, name=name).first()
    if device is None or (api_key is not None and not api_key_can_act_for_device(api_key, device)):
        raise NotFound(f"device {name!r} not found in this organization")
    return device


def metrics_history(
    *,
    organization: Organization,
    device: Device,
    measurement: str,
    fields: Sequence[str],
    start: datetime,
    end: datetime,
    step: timedelta,
    agg: Aggregation,
) -> list[SeriesResult]:
    try:
        return get_store().query(
            tenant=str(organization.id),
            measurement=measurement,
            fields=fields,
            start=start,
            end=end,
            tags={DEVICE_TAG: device.name},
            step=step,
            agg=agg,
        )
    except StoreQueryInvalid as exc:
        # Was a 500: `agg=mean` over a boolean or string field. Only `last` works for those.
        raise IngestInvalid(f"parameter 'agg': {exc}; use agg=last for string and boolean fields") from None
    except StoreUnavailable:
        raise IngestUnavailable(
            "the time-series store is unavailable; retry later", retry_after=settings.INGEST_RETRY_AFTER_SECONDS
        ) from None


def store_status() -> dict[str, Any]:
    """Backend name, ping result and latency; never raises."""
    started = time.perf_counter()
    try:
        store = get_store()
        backend = store.name
        store.ping()
    except Exception as exc:  # a status page reports failures, it does not fail
        result: dict[str, Any] = {
            "backend": getattr(settings, "TIMESERIES_BACKEND", "sql"),
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }
    else:
        result = {"backend": backend, "status": "ok"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result
