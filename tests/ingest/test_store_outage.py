"""The influx backend against a real influxd that stops, restarts, hangs or lacks the database."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from portal.health import run_checks
from tests.servers import InfluxServer
from timeseries import Point, StoreError, StoreUnavailable
from timeseries.influx import InfluxStore

NS0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * 1_000_000_000
WINDOW = {"start": datetime(2026, 10, 31, tzinfo=UTC), "end": datetime(2026, 11, 2, tzinfo=UTC)}


def count_points(server: InfluxServer, database: str) -> int:
    result = server.query('SELECT count("v") FROM "cpu"', db=database)
    series = result["results"][0].get("series", [])  # type: ignore[index]
    return int(series[0]["values"][0][1]) if series else 0


@pytest.fixture
def restart_after(influx_server: InfluxServer) -> Iterator[InfluxServer]:
    yield influx_server
    influx_server.start()


@pytest.mark.slow
def test_outage_write_is_unavailable_and_retry_after_restart_is_stored_once(
    influx_backend: InfluxStore, influx_database: str, restart_after: InfluxServer
) -> None:
    server = restart_after
    batch = [Point("cpu", {"host": "a"}, {"v": float(i)}, NS0 + i) for i in range(100)]
    influx_backend.write(tenant="1", points=batch[:1])
    influx_backend.ping()

    server.stop()
    with pytest.raises(StoreUnavailable, match="502"):
        influx_backend.ping()
    with pytest.raises(StoreUnavailable):
        influx_backend.write(tenant="1", points=batch)
    with pytest.raises(StoreUnavailable):
        influx_backend.query(tenant="1", measurement="cpu", fields=["v"], **WINDOW)
    checks = run_checks(["store"])
    assert checks["store"]["status"] == "error"
    assert "StoreUnavailable" in checks["store"]["error"]

    server.start()
    influx_backend.write(tenant="1", points=batch)  # the client's retry
    influx_backend.write(tenant="1", points=batch)  # and a duplicate retry: still one point per time
    assert count_points(server, influx_database) == 100
    [result] = influx_backend.query(tenant="1", measurement="cpu", fields=["v"], **WINDOW)
    assert result.points == [(NS0 + i, float(i)) for i in range(100)]
    assert run_checks(["store"])["store"]["status"] == "ok"


def test_a_server_that_never_answers_times_out_as_unavailable() -> None:
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        store = InfluxStore(url=url, token="t", org="o", bucket="b", database="b", timeout_ms=300)
        with pytest.raises(StoreUnavailable, match="InfluxDB unavailable: ReadTimeoutError"):
            store.ping()
        with pytest.raises(StoreUnavailable):
            store.write(tenant="1", points=[Point("cpu", {}, {"v": 1.0}, NS0)])


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = InfluxStore(url=f"http://127.0.0.1:{port}", token="", org="o", bucket="b", database="b", timeout_ms=500)
    with pytest.raises(StoreUnavailable, match=r"NewConnectionError|MaxRetryError|ConnectionRefused"):
        store.ping()


def test_write_to_a_missing_database_is_a_store_error_naming_it(influx_server: InfluxServer) -> None:
    store = InfluxStore(url=influx_server.url, token="t", org="o", bucket="nope", database="nope", timeout_ms=3000)
    with pytest.raises(StoreError, match="database not found") as caught:
        store.write(tenant="1", points=[Point("cpu", {}, {"v": 1.0}, NS0)])
    assert not isinstance(caught.value, StoreUnavailable)
    with pytest.raises(StoreError, match="database not found"):
        store.query(tenant="1", measurement="cpu", fields=["v"], step=timedelta(minutes=1), **WINDOW)


def test_proxy_maps_v2_write_precision_and_drops_the_token(influx_server: InfluxServer, influx_database: str) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{influx_server.url}/api/v2/write?bucket={influx_database}&org=o&precision=s",
        data=b"cpu,host=p v=4.5 1700000000",
        headers={"Authorization": "Token whatever"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 204
    result = influx_server.query('SELECT "v" FROM "cpu"', db=influx_database)
    assert result["results"][0]["series"][0]["values"] == [[1_700_000_000 * 10**9, 4.5]]  # type: ignore[index]
