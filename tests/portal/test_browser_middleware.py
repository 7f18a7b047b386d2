"""BrowserMiddleware: sessions, CSRF, auth and messages for pages and session API calls, none of them for an
API call made with a key (it never reads a session, so it neither loads nor sets one)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory, override_settings

from accounts import services as accounts
from accounts.models import Membership, Organization
from devices.models import Device
from portal.middleware import browser_middleware_check, is_key_api_request

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-only"


@pytest.fixture
def member(org: Organization) -> User:
    user = User.objects.create_user(username="cust", password=PASSWORD)
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    return user


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/api/v2/write", {"HTTP_AUTHORIZATION": "Token bcn_x_y"}, True),
        ("/api/v1/devices/", {"HTTP_AUTHORIZATION": "Bearer bcn_x_y"}, True),
        ("/api/v1/devices/", {"HTTP_X_API_KEY": "bcn_x_y"}, True),
        ("/api/v1/devices/", {"HTTP_AUTHORIZATION": "Basic dXNlcjpwdw=="}, False),  # not a key: session path
        ("/api/v1/devices/", {}, False),
        ("/o/acme/", {"HTTP_AUTHORIZATION": "Bearer bcn_x_y"}, False),  # pages always get the session
    ],
)
def test_which_requests_skip_the_browser_middleware(path: str, headers: dict[str, str], expected: bool) -> None:
    assert is_key_api_request(RequestFactory().get(path, **headers)) is expected


def test_key_write_loads_no_session_even_with_a_session_cookie(
    member: User, org: Organization, issue_key: Callable[..., str]
) -> None:
    client = Client()
    client.force_login(member)
    cookie = client.cookies["sessionid"].value
    response = client.post(
        "/api/v2/write?precision=s",
        data=f"edge,device=edge-01 cpu=1.5 {int(time.time()) - 30}".encode(),
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Token {issue_key(org, ['metrics:write'])}",
    )
    assert response.status_code == 204, response.content
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")  # the session was never read
    assert client.cookies["sessionid"].value == cookie
    assert Device.objects.filter(organization=org, name="edge-01").exists()


def test_pages_and_session_api_reads_still_have_sessions_and_csrf(member: User, org: Organization) -> None:
    client = Client(enforce_csrf_checks=True)
    refused = client.post("/accounts/login/", {"username": "cust", "password": PASSWORD})
    assert refused.status_code == 403  # CSRF still checked on the login form
    page = client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    assert page.status_code == 200
    login = client.post("/accounts/login/", {"username": "cust", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert login.status_code == 302 and "sessionid" in login.cookies
    overview = client.get(f"/o/{org.slug}/")
    assert overview.status_code == 200 and overview.wsgi_request.user == member
    devices = client.get("/api/v1/devices/", HTTP_ACCEPT="application/json")
    assert devices.status_code == 200 and devices.json()["results"] == []
    # A member session cannot write; with the CSRF token it is refused as a non-key caller, not skipped.
    write = client.post("/api/v2/write", data=b"edge,device=x v=1", content_type="text/plain", HTTP_X_CSRFTOKEN=token)
    assert write.status_code in (401, 403)


def test_logout_clears_the_session_through_the_wrapped_middleware(member: User, org: Organization) -> None:
    client = Client()
    client.force_login(member)
    assert client.get(f"/o/{org.slug}/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get(f"/o/{org.slug}/").status_code == 302  # back to the login page


def test_check_reports_the_middleware_missing(settings: Any) -> None:
    assert browser_middleware_check() == []
    without = [m for m in settings.MIDDLEWARE if m != "portal.middleware.BrowserMiddleware"]
    with override_settings(MIDDLEWARE=without):
        (error,) = browser_middleware_check()
    assert error.id == "portal.E001" and "CSRF" in error.msg
