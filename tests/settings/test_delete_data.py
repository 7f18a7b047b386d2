"""Settings → Devices → Delete data: confirmation, a real Celery worker runs the deletion on the sql store and on
a real InfluxDB, progress in the row and on the page, the device's points gone and the others' kept."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import AuditEntry, Membership, Organization
from devices import services as devices
from ingest.models import DataDeletion
from tests.celery_fixtures import Broker, CeleryStarter
from timeseries import get_store
from timeseries.models import DataPoint, Series

MEASUREMENTS = ("cpu", "mem", "disk")


def _write(org: Organization, lines: list[str]) -> None:
    client = APIClient()
    key = accounts.api_key_issue(organization=org, name="writer", scopes=["metrics:write"]).plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post("/api/v2/write?precision=s", data="\n".join(lines).encode(), content_type="text/plain")
    assert response.status_code == 204, response.content


def _points(org: Organization, device: str) -> int:
    now = datetime.now(UTC)
    return sum(
        len(series.points)
        for m in MEASUREMENTS
        for series in get_store().query(
            tenant=str(org.id),
            measurement=m,
            fields=["v"],
            tags={"device": device},
            start=now - timedelta(days=1),
            end=now + timedelta(minutes=1),
        )
    )


def _wait_done(deletion_id: int, timeout: float = 60.0) -> DataDeletion:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deletion = DataDeletion.objects.get(pk=deletion_id)
        if not deletion.active:
            return deletion
        time.sleep(0.2)
    raise AssertionError(f"deletion {deletion_id} still {DataDeletion.objects.get(pk=deletion_id).status}")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["sql", "influx"])
def test_delete_a_devices_data_with_a_real_worker(
    backend: str,
    request: pytest.FixtureRequest,
    transactional_db: None,
    celery_producer: Broker,
    start_celery: CeleryStarter,
    settings: Any,
) -> None:
    env: dict[str, str] = {}
    if backend == "influx":
        request.getfixturevalue("influx_backend")
        env = {
            "TIMESERIES_BACKEND": "influx",
            "INFLUX_URL": settings.INFLUX_URL,
            "INFLUX_TOKEN": settings.INFLUX_TOKEN,
            "INFLUX_BUCKET": settings.INFLUX_BUCKET,
            "INFLUX_DATABASE": settings.INFLUX_DATABASE,
        }
    org = accounts.organization_create(name="Acme Delete")
    admin = User.objects.create_user(username="alice", password="pw-for-tests-only")
    accounts.membership_grant(user=admin, organization=org, role=Membership.Role.ADMIN)
    doomed = devices.device_create(organization=org, name="doomed")
    devices.device_create(organization=org, name="kept")
    now = int(time.time())
    _write(
        org,
        [f"{m},device={d} v={i} {now - 60 * i}" for m in MEASUREMENTS for d in ("doomed", "kept") for i in range(4)],
    )
    assert _points(org, "doomed") == 12 and _points(org, "kept") == 12
    worker = start_celery("worker", celery_producer, env=env)
    client = Client()
    client.force_login(admin)
    url = f"/o/{org.slug}/settings/devices/doomed/delete-data/"

    wrong = client.post(url, {"confirm": "kept"})
    assert wrong.status_code == 400 and b"To confirm, type the device&#x27;s name exactly: doomed" in wrong.content
    assert not DataDeletion.objects.exists()
    response = client.post(url, {"confirm": "doomed"})
    assert response.status_code == 302 and response["Location"] == url
    deletion = _wait_done(DataDeletion.objects.get(device=doomed).pk)
    assert deletion.status == "done", (deletion.error, worker.log()[-3000:])
    assert deletion.backend == backend
    # Progress: one step per series (sql: one series per measurement here) or per measurement (influx).
    assert (deletion.done, deletion.total) == (3, 3)
    assert deletion.deleted == (12 if backend == "sql" else 3)
    assert _points(org, "doomed") == 0 and _points(org, "kept") == 12
    if backend == "sql":
        doomed_series = Series.objects.filter(tenant=str(org.id), tags__device="doomed")
        assert DataPoint.objects.filter(series__in=doomed_series).count() == 0
        assert DataPoint.objects.filter(series__tenant=str(org.id)).count() == 12
    page = client.get(url)
    assert b'data-status="done" data-percent="100"' in page.content
    assert (b"12 points deleted" if backend == "sql" else b"3 measurements deleted") in page.content
    assert b'http-equiv="refresh"' not in page.content
    entry = AuditEntry.objects.get(action="device.delete_data")
    assert entry.actor_user == admin and entry.after == {
        "device": "doomed",
        "deletion": deletion.pk,
        "backend": backend,
    }
    # The history API answers the device with no points now.
    reader = APIClient()
    read_key = accounts.api_key_issue(organization=org, name="r", scopes=["metrics:read"]).plaintext
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {read_key}")
    history = reader.get("/api/v1/history", {"device": "doomed", "measurement": "cpu", "field": "v", "start": "-1h"})
    assert history.status_code == 200 and all(not s["points"] for s in history.json()["series"])


@pytest.mark.django_db
def test_a_running_deletion_shows_progress_and_refreshes(org: Organization) -> None:
    admin = User.objects.create_user(username="alice", password="pw-for-tests-only")
    accounts.membership_grant(user=admin, organization=org, role=Membership.Role.ADMIN)
    device = devices.device_create(organization=org, name="edge")
    DataDeletion.objects.create(organization=org, device=device, device_name="edge", status="running", done=1, total=4)
    client = Client()
    client.force_login(admin)
    page = client.get(f"/o/{org.slug}/settings/devices/edge/delete-data/")
    assert b'data-status="running" data-percent="25"' in page.content
    assert b'<progress class="progress" max="100" value="25">' in page.content and b"(1 of 4)" in page.content
    assert b'<meta http-equiv="refresh" content="2">' in page.content
    # A second request while one runs shows the same deletion instead of queueing another.
    client.post(f"/o/{org.slug}/settings/devices/edge/delete-data/", {"confirm": "edge"})
    assert DataDeletion.objects.count() == 1


@pytest.fixture
def refusing_broker(settings: Any) -> Any:
    """This process's Celery app pointed at a Redis URL on a port nothing listens on: publishes really fail."""
    from kombu import pools

    from portal.broker import transport_options
    from portal.celery import app
    from tests.servers import free_port

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    url = f"redis://127.0.0.1:{free_port()}/0"
    options = transport_options(url, var_dir=settings.VAR_DIR, task_time_limit=360, socket_timeout_s=0.5)

    def point_at(broker_url: str, broker_options: Any) -> None:
        app.conf.broker_url, app.conf.broker_transport_options = broker_url, broker_options
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    point_at(url, options)
    yield url
    point_at(*saved)


def test_a_broker_that_refuses_marks_the_deletion_failed(transactional_db: None, refusing_broker: str) -> None:
    org = accounts.organization_create(name="Acme Broker")
    admin = User.objects.create_user(username="alice", password="pw-for-tests-only")
    accounts.membership_grant(user=admin, organization=org, role=Membership.Role.ADMIN)
    devices.device_create(organization=org, name="edge")
    client = Client()
    client.force_login(admin)
    url = f"/o/{org.slug}/settings/devices/edge/delete-data/"
    started = time.monotonic()
    assert client.post(url, {"confirm": "edge"}).status_code == 302
    assert time.monotonic() - started < 10  # the publish retries briefly, then gives up
    deletion = DataDeletion.objects.get()
    assert deletion.status == "failed" and deletion.error.startswith("could not be queued (")
    assert "nothing was deleted, try again" in deletion.error
    assert b'data-status="failed"' in client.get(url).content
    # Not stuck: the next request queues a new deletion (here failing the same way).
    client.post(url, {"confirm": "edge"})
    assert DataDeletion.objects.count() == 2
