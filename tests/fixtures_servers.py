"""Pytest plugin (registered in tests/conftest.py): real servers shared by every test directory.

- `influx_server` (session): InfluxDB 1.6 behind the v2-write proxy (tests/servers.py).
- `influx_database` (function): a fresh, empty database name on it, dropped afterwards.
- `influx_backend` (function): settings switched to TIMESERIES_BACKEND=influx pointing at that database,
  the cached store reset before and after; yields the InfluxStore.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.servers import InfluxServer, influxd_available


@pytest.fixture(scope="session")
def influx_server() -> Iterator[InfluxServer]:
    from tests.conftest import require_server

    require_server(influxd_available(), "influxd not installed (apt install influxdb)")
    server = InfluxServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def influx_database(influx_server: InfluxServer) -> Iterator[str]:
    if not influx_server.running:  # an earlier outage test may have failed before restarting it
        influx_server.start()
    name = f"t_{uuid.uuid4().hex[:12]}"
    influx_server.create_database(name)
    yield name
    if not influx_server.running:
        influx_server.start()
    influx_server.drop_database(name)


@pytest.fixture
def influx_backend(influx_server: InfluxServer, influx_database: str, settings: object) -> Iterator[object]:
    from timeseries import get_store, reset_store

    settings.TIMESERIES_BACKEND = "influx"  # type: ignore[attr-defined]
    settings.INFLUX_URL = influx_server.url  # type: ignore[attr-defined]
    settings.INFLUX_TOKEN = "test-token"  # type: ignore[attr-defined]
    settings.INFLUX_ORG = "beacon"  # type: ignore[attr-defined]
    settings.INFLUX_BUCKET = influx_database  # type: ignore[attr-defined]
    settings.INFLUX_DATABASE = influx_database  # type: ignore[attr-defined]
    settings.INFLUX_TIMEOUT_MS = 5000  # type: ignore[attr-defined]
    reset_store()
    yield get_store()
    reset_store()
