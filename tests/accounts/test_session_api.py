"""A member's browser session reads their org's data through the API (history, devices, status), like a
metrics:read key and only for their org; writes stay key-only; CSRF is enforced on unsafe methods."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import Membership, Organization
from devices import services as devices
from devices.models import Device
from timeseries.models import DataPoint

pytestmark = pytest.mark.django_db


def _member(org: Organization, username: str = "alice") -> User:
    user = User.objects.create_user(username=username, password="pw-for-tests-only")
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    return user


def _session(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def written(org: Organization, other_org: Organization, issue_key: Callable[..., str], client_for: Any) -> int:
    """edge-01 in org (cpu=1.5) and gw-01 in other_org (cpu=99), written through the API."""
    now = int(time.time()) - 30
    for organization, line in [
        (org, f"edge,device=edge-01 cpu=1.5 {now}"),
        (other_org, f"edge,device=gw-01 cpu=99 {now}"),
    ]:
        response = client_for(issue_key(organization, ["metrics:write"])).post(
            "/api/v2/write?precision=s", data=line.encode(), content_type="text/plain"
        )
        assert response.status_code == 204, response.content
    return now


def test_member_reads_own_history_devices_and_status(org: Organization, other_org: Organization, written: int) -> None:
    client = _session(_member(org))
    history = client.get("/api/v1/history", {"device": "edge-01", "field": "cpu"})
    assert history.status_code == 200, history.content
    assert [point[1] for point in history.json()["series"][0]["points"]] == [1.5]
    assert [row["name"] for row in client.get("/api/v1/devices/").json()["results"]] == ["edge-01"]
    status = client.get("/api/v1/status").json()
    assert status["organization"] == org.slug and status["devices"]["live"] == 1


def test_other_orgs_device_and_org_are_404_for_a_member(
    org: Organization, other_org: Organization, written: int
) -> None:
    client = _session(_member(org))
    foreign = client.get("/api/v1/history", {"device": "gw-01", "field": "cpu"})
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    # Naming the other org does not help: not a member → 404, the same answer as an unknown slug.
    named = client.get("/api/v1/history", {"device": "gw-01", "field": "cpu", "org": other_org.slug})
    unknown = client.get("/api/v1/devices/", {"org": "no-such-org"})
    assert (named.status_code, unknown.status_code) == (404, 404)
    assert client.get("/api/v1/devices/", {"org": other_org.slug}).status_code == 404


def test_several_orgs_pick_one_with_org_and_staff_may_open_any(org: Organization, other_org: Organization) -> None:
    devices.device_create(organization=org, name="edge-a")
    devices.device_create(organization=other_org, name="edge-b")
    user = _member(org)
    accounts.membership_grant(user=user, organization=other_org, role=Membership.Role.VIEWER)
    client = _session(user)
    ambiguous = client.get("/api/v1/devices/")
    assert ambiguous.status_code == 400 and "?org=<slug>" in ambiguous.json()["message"]
    assert [d["name"] for d in client.get("/api/v1/devices/", {"org": other_org.slug}).json()["results"]] == ["edge-b"]
    staff = User.objects.create_user(username="ops", password="pw-for-tests-only", is_staff=True)
    assert [d["name"] for d in _session(staff).get("/api/v1/devices/", {"org": org.slug}).json()["results"]] == [
        "edge-a"
    ]


def test_anonymous_is_401_and_a_user_without_membership_is_404(org: Organization, device: Device) -> None:
    anonymous = Client().get("/api/v1/devices/")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    loner = User.objects.create_user(username="bob", password="pw-for-tests-only")
    assert _session(loner).get("/api/v1/devices/").status_code == 404


def test_writes_stay_key_only(org: Organization, device: Device) -> None:
    client = _session(_member(org))
    for path in ("/api/v2/write", "/api/v1/metrics"):
        response = client.post(path, data=b"edge,device=edge-01 cpu=1", content_type="text/plain")
        assert response.status_code == 401, (path, response.content)
    assert not DataPoint.objects.exists()


def test_csrf_is_enforced_on_unsafe_methods_with_a_session(org: Organization, device: Device) -> None:
    client = _session(_member(org), csrf=True)
    assert client.get("/api/v1/devices/").status_code == 200  # safe method: no token needed
    refused = client.post("/api/v1/devices/", {})
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    # With the token the request passes CSRF and reaches the view, which allows only GET.
    token = "k" * 32  # any well-formed token; the check compares the header with the cookie
    client.cookies["csrftoken"] = token
    allowed = client.post("/api/v1/devices/", {}, HTTP_X_CSRFTOKEN=token)
    assert allowed.status_code == 405


def test_login_page_signs_a_member_in(org: Organization, device: Device) -> None:
    _member(org)
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests-only"})
    assert response.status_code == 302
    assert [row["name"] for row in client.get("/api/v1/devices/").json()["results"]] == ["edge-01"]


def test_a_key_ignores_the_org_parameter(org: Organization, other_org: Organization, api: APIClient) -> None:
    devices.device_create(organization=other_org, name="gw-01")
    assert api.get("/api/v1/devices/", {"org": other_org.slug}).json()["results"] == []
