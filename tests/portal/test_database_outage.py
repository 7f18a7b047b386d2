"""PostgreSQL cut and frozen under load, through a TCP proxy between a real gunicorn portal and the database.

Every failed answer must be a JSON 503 with Retry-After (never Django's HTML 500), a frozen database must
cost a bounded time, a client that retries on 5xx must end with every point stored exactly once, and the
portal must recover without a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts import services
from accounts.models import Organization
from accounts.scopes import registered_scopes
from ingest.scopes import METRICS_WRITE
from tests.proxy import TcpProxy
from tests.retrying_client import POINTS_PER_BATCH, Load, wait_for_batches
from tests.servers import GunicornPortal
from timeseries import get_store, reset_store

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CONNECT_TIMEOUT_S = 2  # psycopg's minimum
STATEMENT_TIMEOUT_MS = 1000
# The longest a request may wait on a frozen database: the health check of a kept connection waits for the
# answer deadline (statement timeout + 2 s grace), then a new connection waits for the connect timeout.
FROZEN_BOUND_S = STATEMENT_TIMEOUT_MS / 1000 + 2 + CONNECT_TIMEOUT_S + 3  # + slack for a shared machine
BATCHES, CLIENTS = 120, 3


@pytest.fixture
def db_proxy(settings: Any) -> Iterator[TcpProxy]:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (gunicorn runs in another process)")
    proxy = TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def portal(db_proxy: TcpProxy, settings: Any, tmp_path: Path) -> Iterator[GunicornPortal]:
    db = settings.DATABASES["default"]
    url = f"postgres://{db.get('USER') or 'postgres'}@127.0.0.1:{db_proxy.port}/{db['NAME']}"
    server = GunicornPortal(
        env={
            "DATABASE_URL": url,
            "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_S),
            "DB_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT_MS),
            "DB_CONN_MAX_AGE": "60",
        },
        log_dir=tmp_path,
    )
    yield server
    server.close()


def _stored_values(org: Organization) -> list[float]:
    from datetime import UTC, datetime, timedelta

    reset_store()
    now = datetime.now(UTC)
    [series] = get_store().query(
        tenant=str(org.id), measurement="load", fields=["v"], start=now - timedelta(days=1), end=now
    )
    return [value for _, value in series.points]


def test_cut_and_frozen_database_answer_json_503_and_a_retrying_client_loses_and_doubles_nothing(
    portal: GunicornPortal, db_proxy: TcpProxy, org: Organization
) -> None:
    token = services.api_key_issue(organization=org, name="load", scopes=[METRICS_WRITE]).plaintext
    load = Load(portal.url, token)
    threads = [
        threading.Thread(target=load.run, args=([b for b in range(BATCHES) if b % CLIENTS == c],))
        for c in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    wait_for_batches(load, 15)

    load.phase = "cut"
    db_proxy.cut()
    time.sleep(3)
    db_proxy.restore()
    load.phase = "after-cut"
    wait_for_batches(load, len(load.stored_batches) + 15)

    load.phase = "frozen"
    db_proxy.freeze()
    time.sleep(CONNECT_TIMEOUT_S + STATEMENT_TIMEOUT_MS / 1000 + 4)
    db_proxy.restore()
    load.phase = "after-freeze"
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    # Every failure the clients saw was a JSON 503 with Retry-After, in both outages.
    phases = {f.phase for f in load.failures}
    assert {"cut", "frozen"} <= phases, phases
    for failure in load.failures:
        assert failure.status == 503, failure
        assert failure.content_type == "application/json", failure
        # OUTAGE_RETRY_AFTER_SECONDS (key/device lookups) or INGEST_RETRY_AFTER_SECONDS (the store's write)
        assert failure.retry_after in {"5", "10"}, failure
        assert failure.code == "unavailable", failure
    # A frozen database costs a bounded wait, not forever.
    frozen = [f.seconds for f in load.failures if f.phase == "frozen"]
    assert frozen and max(frozen) < FROZEN_BOUND_S, frozen

    # 0 lost, 0 doubled: every point once, with its own value.
    assert sorted(load.stored_batches) == list(range(BATCHES))
    assert sorted(_stored_values(org)) == [float(v) for v in range(BATCHES * POINTS_PER_BATCH)]

    # Recovered without a restart: the dead kept connections were replaced.
    ready = requests.get(f"{portal.url}/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    # Logged per state change per worker (2 workers, 2 outages), never per failed request.
    outage_lines = [r for r in portal.log_records() if r.get("logger") == "beacon.outage"]
    downs = [r for r in outage_lines if r.get("state") == "down"]
    ups = [r for r in outage_lines if r.get("state") == "up"]
    assert downs and ups, outage_lines
    for dependency in ("database", "time-series store"):
        assert len([r for r in downs if r["dependency"] == dependency]) <= 4, outage_lines
    assert len(downs) < len(load.failures) / 2, (len(downs), len(load.failures))
    assert "Traceback" not in portal.output()


def test_every_step_of_an_api_request_maps_a_database_outage_to_json_503(
    portal: GunicornPortal, db_proxy: TcpProxy, org: Organization
) -> None:
    """Authentication (the key lookup), reads and writes, each with a fresh key so no memo hides the lookup."""
    keys = [
        services.api_key_issue(organization=org, name=f"k{i}", scopes=list(registered_scopes())).plaintext
        for i in range(4)
    ]
    db_proxy.cut()
    requests_made = [
        ("post", "/api/v2/write", keys[0], "m,device=d v=1"),
        ("get", "/api/v1/devices/", keys[1], None),
        ("get", "/api/v1/status", keys[2], None),
        ("post", "/api/v1/metrics", keys[3], '{"device": "d", "metrics": {"v": 1}}'),
    ]
    for method, path, key, body in requests_made:
        content_type = "application/json" if body and body.startswith("{") else "text/plain"
        response = requests.request(
            method,
            portal.url + path,
            data=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
            timeout=30,
        )
        assert response.status_code == 503, (path, response.status_code, response.text[:300])
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Retry-After"] == "5"
        assert response.json() == {
            "code": "unavailable",
            "message": "The database is unavailable; nothing was written, retry later.",
            "retry_after": 5,
        }
    # A non-API page keeps Django's handling, but says nothing about the cause.
    page = requests.get(f"{portal.url}/admin/", cookies={"sessionid": "x" * 32}, timeout=30)
    assert page.status_code == 500
    assert not any(word in page.text for word in ("OperationalError", "psycopg", "5432", "Traceback"))
    db_proxy.restore()
    response = requests.get(f"{portal.url}/api/v1/devices/", headers={"Authorization": f"Bearer {keys[1]}"}, timeout=30)
    assert response.status_code == 200, response.text
