"""Alerts fixtures: the real SMTP server and webhook receiver, points written to the real store, a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accounts.models import Organization
from alerts.models import AlertRule
from devices import services as devices
from devices.models import Device
from notifications.services import deliveries_run_due
from tests.notifications.conftest import receiver, smtp_server  # noqa: F401 - shared, not copied
from timeseries import Point, TimeSeriesStore, get_store, reset_store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _alert_settings(settings: Any) -> None:
    settings.SCRAPE_ALLOW_PRIVATE = True  # the webhook receiver is on loopback
    settings.PUBLIC_URL = "https://beacon.example.com"


@pytest.fixture(params=["sql", "influx"])
def any_store(request: pytest.FixtureRequest, db: None, settings: Any) -> Iterator[TimeSeriesStore]:
    """Both store backends on real servers (PostgreSQL, influxd), as the contract tests run them."""
    if request.param == "sql":
        settings.TIMESERIES_BACKEND = "sql"
        reset_store()
        yield get_store()
        reset_store()
    else:
        yield request.getfixturevalue("influx_backend")


@pytest.fixture
def sql_store(db: None, settings: Any) -> Iterator[TimeSeriesStore]:
    settings.TIMESERIES_BACKEND = "sql"
    reset_store()
    yield get_store()
    reset_store()


@pytest.fixture
def make_devices(org: Organization) -> Callable[..., list[Device]]:
    def _make(
        count: int, prefix: str = "edge", seen: datetime | None = T0, organization: Organization | None = None
    ) -> list[Device]:
        made = [devices.device_create(organization=organization or org, name=f"{prefix}-{i:03d}") for i in range(count)]
        Device.objects.filter(id__in=[d.id for d in made]).update(last_seen_at=seen, created_at=seen or T0)
        return made

    return _make


def write(organization: Organization, device: str, value: float, at: datetime, measurement: str = "cpu",
          field: str = "usage", **tags: str) -> None:  # fmt: skip
    point = Point(measurement, {"device": device, **tags}, {field: float(value)}, int(at.timestamp()) * 10**9)
    get_store().write(tenant=str(organization.id), points=[point])


def cpu_rule(org: Organization, **overrides: Any) -> AlertRule:
    values: dict[str, Any] = {
        "name": "cpu high",
        "kind": "threshold",
        "measurement": "cpu",
        "field": "usage",
        "aggregation": "last",
        "window_seconds": 60,
        "operator": ">",
        "value": 80.0,
        "recipients": ["noc@example.com"],
        **overrides,
    }
    return AlertRule.objects.create(organization=org, **values)


def offline_rule(org: Organization, **overrides: Any) -> AlertRule:
    values: dict[str, Any] = {
        "name": "offline",
        "kind": "offline",
        "grace_seconds": 60,
        "for_seconds": 30,
        "recipients": ["noc@example.com"],
        **overrides,
    }
    return AlertRule.objects.create(organization=org, **values)


def deliver() -> None:
    deliveries_run_due()


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
