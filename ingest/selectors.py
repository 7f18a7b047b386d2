"""Reads: metric history for one device."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings

from accounts.models import ApiKey, Organization
from devices.models import Device
from ingest.validation import DEVICE_TAG
from portal.api.errors import InvalidRequest, NotFound, Unavailable
from timeseries import (
    Aggregation,
    SeriesInfo,
    SeriesResult,
    StoreQueryInvalid,
    StoreTooManyGroups,
    StoreUnavailable,
    get_store,
)


def device_for_reading(
    *, organization: Organization, api_key: ApiKey | None, name: str | None = None, slug: str | None = None
) -> Device:
    """The org's device by name or slug; a device-bound key sees only its own. Anything else is a 404."""
    devices = Device.objects.filter(organization=organization)
    device = (devices.filter(name=name) if name is not None else devices.filter(slug=slug)).first()
    if device is None or (api_key is not None and not api_key.can_act_for_device(device)):
        raise NotFound(f"device {name if name is not None else slug!r} not found in this organization")
    return device


def device_series(*, organization: Organization, device: Device) -> list[SeriesInfo]:
    """Every series the device has written (its `device` tag left out), with each field's newest point."""
    try:
        found = get_store().series(tenant=str(organization.id), tags={DEVICE_TAG: device.name})
    except StoreUnavailable:
        raise _unavailable() from None
    for info in found:
        info.tags.pop(DEVICE_TAG, None)
    return found


def _unavailable() -> Unavailable:
    return Unavailable(
        "the time-series store is unavailable; retry later", retry_after=settings.INGEST_RETRY_AFTER_SECONDS
    )


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
    tags: Mapping[str, Sequence[str]] | None = None,
    group_by: Sequence[str] = (),
) -> list[SeriesResult]:
    """One device's history; `tags` narrows it further, `group_by` splits it (ingest.history.parse_tags)."""
    try:
        return get_store().query(
            tenant=str(organization.id),
            measurement=measurement,
            fields=fields,
            start=start,
            end=end,
            tags={**(tags or {}), DEVICE_TAG: device.name},  # the device last: no filter can replace it
            step=step,
            agg=agg,
            group_by=group_by,
            max_groups=settings.HISTORY_MAX_GROUPS if group_by else None,
        )
    except StoreTooManyGroups as exc:
        raise InvalidRequest(
            f"parameter 'group_by': {', '.join(map(repr, group_by))} gives more than {exc.limit} series per field "
            "in this range; the limit is HISTORY_MAX_GROUPS; narrow it with tag.<name>=<value> or a shorter range"
        ) from None
    except StoreQueryInvalid as exc:
        # Was a 500: `agg=mean` over a boolean or string field. Only `last` works for those.
        raise InvalidRequest(f"parameter 'agg': {exc}; use agg=last for string and boolean fields") from None
    except StoreUnavailable:
        raise _unavailable() from None
