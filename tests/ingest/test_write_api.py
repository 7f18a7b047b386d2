"""POST /api/v1/metrics and /api/v2/write: what is stored, device binding, auth (sql store on Postgres)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from devices import services as device_services
from devices.models import Device
from ingest.scopes import METRICS_READ, METRICS_WRITE

pytestmark = pytest.mark.django_db

NS = 1_000_000_000


def post_json(client: APIClient, body: Any, **extra: Any) -> Any:
    return client.post("/api/v1/metrics", data=json.dumps(body), content_type="application/json", **extra)


def post_lp(client: APIClient, text: str | bytes, url: str = "/api/v2/write", **extra: Any) -> Any:
    data = text.encode() if isinstance(text, str) else text
    return client.post(url, data=data, content_type="text/plain; charset=utf-8", **extra)


def test_seed_json_object_is_stored(api: APIClient, org: Organization, device: Device, read_points: Callable) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    response = post_json(
        api, {"device": "edge-01", "timestamp": at.isoformat(), "metrics": {"cpu": 1.5, "mem": 40}, "tags": {"k": "v"}}
    )
    assert response.status_code == 204, response.content
    assert response.content == b""
    ns = int(at.timestamp()) * NS
    assert read_points(org, "edge", ["cpu", "mem"], device="edge-01") == {"cpu": [(ns, 1.5)], "mem": [(ns, 40)]}
    assert read_points(org, "edge", ["cpu"], tags={"k": "v"}) == {"cpu": [(ns, 1.5)]}


def test_json_list_epoch_seconds_measurement_and_auto_register(
    api: APIClient, org: Organization, device: Device, read_points: Callable
) -> None:
    t = int(time.time()) - 30
    body = [
        {"device": "edge-01", "timestamp": t, "metrics": {"cpu": 2.0}},
        {
            "device": "edge-02",
            "timestamp": t + 0.5,
            "metrics": {"cpu": 3.0, "ok": True, "note": "x"},
            "measurement": "sys",
        },
    ]
    assert post_json(api, body).status_code == 204
    assert read_points(org, "edge", ["cpu"], device="edge-01") == {"cpu": [(t * NS, 2.0)]}
    assert read_points(org, "sys", ["cpu", "ok", "note"], device="edge-02") == {
        "cpu": [(t * NS + NS // 2, 3.0)],
        "ok": [(t * NS + NS // 2, True)],
        "note": [(t * NS + NS // 2, "x")],
    }
    assert Device.objects.filter(organization=org, name="edge-02").exists()


def test_json_without_timestamp_uses_server_time(api: APIClient, org: Organization, read_points: Callable) -> None:
    before = time.time_ns()
    assert post_json(api, {"device": "d1", "metrics": {"v": 1}}).status_code == 204
    ((ts, value),) = read_points(org, "edge", ["v"], device="d1")["v"]
    assert value == 1 and before <= ts <= time.time_ns()


def test_line_protocol_on_v1_with_precision(api: APIClient, org: Organization, read_points: Callable) -> None:
    t = int(time.time()) - 60
    text = f"# comment\ncpu,device=d1,core=0 usage=10.5,n=3i {t}\ncpu,device=d1,core=1 usage=20 {t}\n"
    assert post_lp(api, text, url="/api/v1/metrics?precision=s").status_code == 204
    assert read_points(org, "cpu", ["usage"], device="d1", tags={"core": "1"}) == {"usage": [(t * NS, 20.0)]}
    assert read_points(org, "cpu", ["n"], device="d1") == {"n": [(t * NS, 3)]}


@pytest.mark.parametrize(("precision", "scale"), [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", NS)])
def test_v2_write_precisions(
    org: Organization, issue_key: Callable, client_for: Callable, read_points: Callable, precision: str, scale: int
) -> None:
    client = client_for(issue_key(org, [METRICS_WRITE, METRICS_READ]), header="token")
    t_ns = (time.time_ns() - 10 * NS) // NS * NS
    response = post_lp(
        client, f"m,device=d v=1 {t_ns // scale}", url=f"/api/v2/write?bucket=b&org=o&precision={precision}"
    )
    assert response.status_code == 204
    assert read_points(org, "m", ["v"], device="d") == {"v": [(t_ns, 1.0)]}


@pytest.mark.parametrize("media", ["text/plain", "application/json"])
def test_gzip_bodies(api: APIClient, org: Organization, read_points: Callable, media: str) -> None:
    t = int(time.time()) - 5
    if media == "text/plain":
        raw = f"g,device=d v=7i {t}".encode()
        url = "/api/v2/write?precision=s"
    else:
        raw = json.dumps({"device": "d", "timestamp": t, "metrics": {"v": 7}, "measurement": "g"}).encode()
        url = "/api/v1/metrics"
    response = api.post(url, data=gzip.compress(raw), content_type=media, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 204, response.content
    assert read_points(org, "g", ["v"], device="d") == {"v": [(t * NS, 7)]}


def test_rewrite_of_same_point_overwrites(api: APIClient, org: Organization, read_points: Callable) -> None:
    t = int(time.time()) - 5
    assert post_lp(api, f"m,device=d v=1 {t}", url="/api/v2/write?precision=s").status_code == 204
    assert post_lp(api, f"m,device=d v=2 {t}", url="/api/v2/write?precision=s").status_code == 204
    assert read_points(org, "m", ["v"], device="d") == {"v": [(t * NS, 2.0)]}


# --- device binding ---------------------------------------------------------------------------


def test_device_bound_key_forces_its_device(
    org: Organization, device: Device, issue_key: Callable, client_for: Callable, read_points: Callable
) -> None:
    client = client_for(issue_key(org, [METRICS_WRITE], device=device))
    t = int(time.time()) - 5
    assert (
        post_lp(client, f"m v=1 {t}\nm,device=edge-01 v=2 {t + 1}", url="/api/v2/write?precision=s").status_code == 204
    )
    assert read_points(org, "m", ["v"], device="edge-01") == {"v": [(t * NS, 1.0), ((t + 1) * NS, 2.0)]}
    assert post_json(client, {"metrics": {"cpu": 5}}).status_code == 204
    assert [v for _, v in read_points(org, "edge", ["cpu"], device="edge-01")["cpu"]] == [5]


def test_device_bound_key_conflicting_device_is_403(
    org: Organization, device: Device, issue_key: Callable, client_for: Callable, read_points: Callable
) -> None:
    client = client_for(issue_key(org, [METRICS_WRITE], device=device))
    response = post_lp(client, "m v=1\nm,device=edge-99 v=2")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "forbidden"
    assert body["line"] == 2
    assert "'edge-99'" in body["message"] and "'edge-01'" in body["message"]
    assert read_points(org, "m", ["v"]) == {}
    assert not Device.objects.filter(name="edge-99").exists()


def test_org_key_point_without_device_is_rejected(api: APIClient, org: Organization, read_points: Callable) -> None:
    response = post_lp(api, "m,device=a v=1\nm v=2")
    assert response.status_code == 400
    assert response.json()["line"] == 2
    assert "missing the 'device' tag" in response.json()["message"]
    assert read_points(org, "m", ["v"]) == {}


def test_unknown_device_rejected_when_auto_register_is_off(
    org: Organization, device: Device, api: APIClient, read_points: Callable
) -> None:
    org.auto_register_devices = False
    org.save()
    response = post_lp(api, "m,device=edge-01 v=1\nm,device=newbie v=2")
    assert response.status_code == 403
    assert response.json()["line"] == 2
    assert "unknown device 'newbie'" in response.json()["message"]
    assert read_points(org, "m", ["v"]) == {}
    assert list(Device.objects.filter(organization=org).values_list("name", flat=True)) == ["edge-01"]


def test_devices_are_per_organization(
    org: Organization, other_org: Organization, issue_key: Callable, client_for: Callable, read_points: Callable
) -> None:
    device_services.device_create(organization=other_org, name="shared-name")
    client = client_for(issue_key(org, [METRICS_WRITE]))
    assert post_lp(client, "m,device=shared-name v=1").status_code == 204
    assert Device.objects.filter(name="shared-name").count() == 2  # auto-registered in org, not reused
    assert len(read_points(org, "m", ["v"])["v"]) == 1
    assert read_points(other_org, "m", ["v"]) == {}


def test_last_seen_is_updated_at_most_once_per_resolution(api: APIClient, device: Device, settings: Any) -> None:
    settings.INGEST_SEEN_RESOLUTION_SECONDS = 60
    assert device.last_seen_at is None
    assert post_lp(api, "m,device=edge-01 v=1").status_code == 204
    device.refresh_from_db()
    first = device.last_seen_at
    assert first is not None and (datetime.now(UTC) - first).total_seconds() < 5
    assert post_lp(api, "m,device=edge-01 v=2").status_code == 204
    device.refresh_from_db()
    assert device.last_seen_at == first


# --- authentication and scopes ----------------------------------------------------------------


def test_missing_key_is_401(client: Any, org: Organization, read_points: Callable) -> None:
    response = client.post("/api/v2/write", data=b"m,device=d v=1", content_type="text/plain")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert read_points(org, "m", ["v"]) == {}


def test_wrong_key_is_401(client_for: Callable, org: Organization, read_points: Callable) -> None:
    response = post_lp(client_for("bcn_abcdefabcdef_notthesecret", header="token"), "m,device=d v=1")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid, expired or revoked API key."


def test_read_only_key_is_403(
    org: Organization, issue_key: Callable, client_for: Callable, read_points: Callable
) -> None:
    client = client_for(issue_key(org, [METRICS_READ]))
    response = post_lp(client, "m,device=d v=1")
    assert response.status_code == 403
    assert "metrics:write" in response.json()["message"]
    assert read_points(org, "m", ["v"]) == {}
