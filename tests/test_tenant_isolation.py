"""Tenant isolation generated from the URL conf: every route, every credential, against another org's objects.

Every URL pattern is requested with org A's credentials — an API key holding every registered scope, and an
org-admin member session — with each method its view answers:
- a pattern with an object parameter is filled with org B's object (slug or id): the answer must be 404
  (401/405, and a page's redirect to the sign-in form, are allowed: they do not depend on the object),
  never 2xx or 403, which would leak existence; a pattern with an `org` parameter besides others (the
  pages under /o/<org>/) is also tried with A's own org and B's objects, which must be 404 too;
- a pattern without one is sent org B's names where it could take them (`?org=`, `?device=`, a body naming
  B's device): a 2xx answer must not contain any of B's data.
Afterwards org B's devices and stored points must be exactly as before. A new endpoint that does not scope
its queries fails here by itself; routes that are public by design are listed in PUBLIC with a reason.
"""

from __future__ import annotations

import base64
import re
import sys
import types
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import clear_url_caches, path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.models import ApiKey, AuditEntry, Invitation, Membership, Organization
from accounts.scopes import registered_scopes
from accounts.tenancy import page_organization
from alerts.models import AlertRule, Silence
from devices import services as devices
from devices.models import Device
from loadtests.models import LoadTestRun
from notifications.models import WebhookEndpoint
from quotas.models import GatewayService
from registry.models import Gauge, PushGroup
from tests.urlwalk import Route, walk
from timeseries import get_store
from timeseries.models import DataPoint, Series

pytestmark = pytest.mark.django_db

# Route prefix -> why it may answer without tenant scoping.
PUBLIC = {
    "health": "liveness probe: version only, no tenant data",
    "health/ready": "readiness probe: dependency status only, no tenant data",
    "api/schema/": "the OpenAPI document: describes the API, holds no data",
    "api/docs/": "Swagger UI page for the schema",
    "accounts/login/": "the sign-in form",
    "accounts/logout/": "ends the caller's own session",
    "admin/": "Django admin: staff only (others are redirected to its login); staff see every org by design",
    "accounts/password/reset/": "password reset by email: asks for an address, answers the same for any",
    "accounts/reset/": "password reset links: Django's signed uid + token, no org in them",
}
B_DEVICE = "gw-b-secret-01"
B_SERVICE = "svc-b-secret"
B_VALUE = "4242.5"
B_GAUGE = "b_secret_gauge"
B_JOB = "b-secret-job"
# Route prefix -> why a write (not a read) to it may succeed with org B's names in the path: the path names
# a thing *in the caller's own organization* (create by name, Pushgateway's push/delete by grouping key), so
# A's request creates or replaces A's object of that name. Checked instead: no 5xx, no B data in the answer,
# and B's objects unchanged (OrgB.state). Reads of these routes must still be 404.
NAMES_IN_CALLERS_ORG = {
    "api/v1/gauges/<str:gauge>": "POST creates the caller's own gauge of that name (the seed's create)",
    "metrics/job": "Pushgateway paths: a push or delete addresses the caller's own group with that grouping key",
}


def names_in_callers_org(route: str) -> bool:
    return any(route.startswith(p) for p in NAMES_IN_CALLERS_ORG)


def is_public(route: str) -> bool:
    return any(route == p or (p.endswith("/") and route.startswith(p)) for p in PUBLIC)


@dataclass
class OrgB:
    org: Organization
    device: Device
    key: ApiKey
    member: Membership
    endpoint: WebhookEndpoint
    invitation: Invitation
    service: GatewayService
    rule: AlertRule
    silence: Silence
    loadtest_run: LoadTestRun

    def parameter(self, name: str) -> str | None:
        """The value of org B's object for a path parameter, by the parameter's name."""
        values = {
            "org": self.org.slug,
            "org_slug": self.org.slug,
            "organization": self.org.slug,
            "slug": self.device.slug,
            "device": self.device.slug,
            "device_slug": self.device.slug,
            "name": self.device.name,
            "pk": str(self.device.pk),
            "id": str(self.device.pk),
            "device_id": str(self.device.pk),
            "key": str(self.key.pk),
            "member": str(self.member.pk),
            "endpoint": str(self.endpoint.pk),
            "invitation": str(self.invitation.pk),
            # A well-formed token for B's invitation, but not its own: every answer must be the 404.
            "token": "c0ffee-0123456789abcdef0123456789abcdef",
            "service": self.service.name,
            "gauge": B_GAUGE,
            "job": B_JOB,
            "job_base64": base64.urlsafe_b64encode(B_JOB.encode()).decode(),
            "labels": "instance/b-host",
            "rule": str(self.rule.pk),
            "silence": str(self.silence.pk),
            "run": str(self.loadtest_run.uuid),
        }
        return values.get(name)

    def markers(self) -> list[bytes]:
        return [
            *(self.org.slug.encode(), self.device.name.encode(), B_VALUE.encode(), self.service.name.encode()),
            *(B_GAUGE.encode(), B_JOB.encode()),
            str(self.loadtest_run.uuid).encode(),
        ]

    def state(self) -> tuple[Any, ...]:
        tenant = str(self.org.id)
        return (
            sorted(
                Device.objects.filter(organization=self.org).values_list("name", "last_seen_at", "decommissioned_at")
            ),
            sorted(ApiKey.objects.filter(organization=self.org).values_list("key_id", "revoked_at", "expires_at")),
            sorted(Membership.objects.filter(organization=self.org).values_list("user_id", "role")),
            sorted(WebhookEndpoint.objects.filter(organization=self.org).values_list("secret", "enabled")),
            sorted(Invitation.objects.filter(organization=self.org).values_list("id", "accepted_at")),
            AuditEntry.objects.filter(organization=self.org).count(),
            Series.objects.filter(tenant=tenant).count(),
            DataPoint.objects.filter(series__tenant=tenant).count(),
            sorted(Gauge.objects.filter(organization=self.org).values_list("name", "value", "updated_at")),
            sorted(PushGroup.objects.filter(organization=self.org).values_list("grouping_key", "pushed_at")),
            sorted(AlertRule.objects.filter(organization=self.org).values_list("id", "name", "value", "enabled")),
            sorted(Silence.objects.filter(organization=self.org).values_list("id", "ends_at", "reason")),
            sorted(
                LoadTestRun.objects.filter(organization=self.org).values_list(
                    "uuid", "state", "requests", "is_baseline"
                )
            ),
        )


def _object_answer_ok(response: Any) -> bool:
    if response.status_code in (401, 404, 405):
        return True
    # A page answers a caller without a session (the API key) with the sign-in form, whatever the object.
    return response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


def _urls(route: Route, b: OrgB, own_org: str | None) -> list[str]:
    url = "/" + route.route
    for name in route.parameters:
        url = re.sub(rf"<(?:\w+:)?{name}>", str(b.parameter(name)), url)
    urls = [url]
    if own_org is not None and "org" in route.parameters and len(route.parameters) > 1:
        mixed = "/" + route.route
        for name in route.parameters:
            value = own_org if name == "org" else str(b.parameter(name))
            mixed = re.sub(rf"<(?:\w+:)?{name}>", value, mixed)
        urls.append(mixed)  # my organization, their device
    return urls


def isolation_problems(clients: dict[str, Any], b: OrgB, own_org: str | None = None) -> list[str]:
    problems: list[str] = []
    query = {"org": b.org.slug, "device": b.device.name, "field": "cpu"}
    body = f"edge,device={b.device.name} cpu=1".encode()
    before = b.state()
    for route in walk():
        if is_public(route.route):
            continue
        if route.route.startswith("^") or "(?P<" in route.route:
            problems.append(f"{route.route}: regex route; give it a named converter or a case here")
            continue
        missing = [p for p in route.parameters if b.parameter(p) is None]
        if missing:
            problems.append(f"{route.route}: no org-B value for parameter(s) {missing}; add them to OrgB.parameter")
            continue
        for url, who, method in [(u, w, m) for u in _urls(route, b, own_org) for w in clients for m in route.methods]:
            send = getattr(clients[who], method)
            if method == "get":
                response = send(url, query)
            else:
                response = send(f"{url}?org={b.org.slug}", data=body, content_type="text/plain")
            where = f"{method.upper()} {url} ({route.route}) as {who}: {response.status_code}"
            if route.parameters and method != "get" and names_in_callers_org(route.route):
                # The answer may echo what A sent (the name in the path, the body); nothing else of B's.
                sent = url.encode() + body
                leaked = [m.decode() for m in b.markers() if m in response.content and m not in sent]
                if response.status_code >= 500 or leaked:
                    problems.append(f"{where}, writing the caller's own name{f' shows {leaked}' if leaked else ''}")
            elif route.parameters:
                if not _object_answer_ok(response):
                    problems.append(f"{where}, expected 404 for org B's object")
            elif response.status_code >= 500:
                problems.append(f"{where}")
            elif 200 <= response.status_code < 300:
                leaked = [m.decode() for m in b.markers() if m in response.content]
                if leaked:
                    problems.append(f"{where} and shows org B's {leaked}")
    if b.state() != before:
        problems.append(f"org B's data changed: {before} -> {b.state()}")
    return problems


@pytest.fixture
def org_b(other_org: Organization, issue_key: Any, client_for: Any) -> OrgB:
    device = devices.device_create(organization=other_org, name=B_DEVICE)
    response = client_for(issue_key(other_org, ["metrics:write"])).post(
        "/api/v2/write", data=f"edge,device={B_DEVICE} cpu={B_VALUE}".encode(), content_type="text/plain"
    )
    assert response.status_code == 204
    device.refresh_from_db()
    b_key = client_for(issue_key(other_org, ["gauges:write"]))
    assert b_key.post(f"/api/v1/gauges/{B_GAUGE}", data="B's gauge", content_type="text/plain").status_code == 201
    pushed = b_key.put(
        f"/metrics/job/{B_JOB}/instance/b-host", data=f"{B_GAUGE}_pushed {B_VALUE}\n", content_type="text/plain"
    )
    assert pushed.status_code == 200
    service = GatewayService.objects.create(organization=other_org, name=B_SERVICE, kong_service="kong-b")
    rule = AlertRule.objects.create(organization=other_org, name="b-secret-rule", kind="offline")
    silence = Silence.objects.create(
        organization=other_org, rule=rule, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1)
    )
    run = LoadTestRun.objects.create(organization=other_org, plan="b-plan", state=LoadTestRun.State.COMPLETED)
    key = accounts.api_key_issue(organization=other_org, name="b-key", scopes=["metrics:read"]).api_key
    admin_b = User.objects.create_user(username="admin-b", email="admin-b@example.com")
    member = accounts.membership_grant(user=admin_b, organization=other_org, role=Membership.Role.ADMIN)
    endpoint = WebhookEndpoint.objects.create(organization=other_org, url="https://hooks.example.com/b", enabled=False)
    invitation = Invitation.objects.create(organization=other_org, email="invitee-b@example.com")
    return OrgB(
        org=other_org,
        device=device,
        service=service,
        rule=rule,
        silence=silence,
        loadtest_run=run,
        key=key,
        member=member,
        endpoint=endpoint,
        invitation=invitation,
    )


@pytest.fixture
def org_a_clients(org: Organization, issue_key: Any, client_for: Any, settings: Any) -> dict[str, Any]:
    settings.RATELIMIT_ENABLE = False  # hundreds of requests; budgets are tested elsewhere
    # A's writes naming B's device must not create a same-named device in A, which would blur what leaked.
    org.auto_register_devices = False
    org.save()
    devices.device_create(organization=org, name="edge-a-01")
    member = User.objects.create_user(username="member-a", password="pw-for-tests-only")
    accounts.membership_grant(user=member, organization=org, role=Membership.Role.ADMIN)
    session = Client()
    session.force_login(member)
    key: APIClient = client_for(issue_key(org, registered_scopes()))
    return {"key with every scope": key, "member session": session}


def test_every_route_is_scoped_to_the_callers_org(
    org_a_clients: dict[str, Any], org_b: OrgB, org: Organization
) -> None:
    routes = [r.route for r in walk() if not is_public(r.route)]
    # The walk sees the API (reads and writes); a route added later is checked the same way.
    assert {"api/v1/devices/", "api/v1/status", "api/v1/history", "api/v1/metrics", "api/v2/write"} <= set(routes)
    # ... and the pages, with an org slug and a device slug in the path, and the series discovery.
    assert {"", "o/<slug:org>/", "o/<slug:org>/devices/<slug:device>/", "api/v1/devices/<str:slug>/series"} <= set(
        routes
    )
    # ... and the settings pages, each with org B's key, member, device, endpoint and invitation.
    assert {
        "o/<slug:org>/settings/",
        "o/<slug:org>/settings/keys/<int:key>/revoke/",
        "o/<slug:org>/settings/members/<int:member>/remove/",
        "o/<slug:org>/settings/devices/<slug:device>/decommission/",
        "o/<slug:org>/settings/devices/<slug:device>/delete-data/",
        "o/<slug:org>/settings/webhooks/<int:endpoint>/enable/",
        "accounts/invite/<int:invitation>/<str:token>/",
    } <= set(routes)
    assert {"o/<slug:org>/services/<slug:service>/", "o/<slug:org>/chart-bands"} <= set(routes)
    # ... and the registry's gauges, Pushgateway paths (grouping key in the path) and exposition.
    assert {"api/v1/gauges/<str:gauge>", "metrics/job/<str:job>/<path:labels>", "metrics"} <= set(routes)
    assert isolation_problems(org_a_clients, org_b, own_org=org.slug) == []
    stored = get_store().query(
        tenant=str(org_b.org.id),
        measurement="edge",
        fields=["cpu"],
        start=org_b.device.last_seen_at.replace(year=2000),  # type: ignore[union-attr]
        end=org_b.device.last_seen_at.replace(year=2100),  # type: ignore[union-attr]
    )
    assert [value for series in stored for _, value in series.points] == [float(B_VALUE)]


def test_public_routes_hold_no_tenant_data(org_a_clients: dict[str, Any], org_b: OrgB) -> None:
    anonymous = Client()
    for route in ("health", "health/ready", "api/schema/"):
        response = anonymous.get("/" + route)
        assert response.status_code == 200, route
        assert not any(m in response.content for m in org_b.markers()), route
    assert Client().get("/admin/").status_code == 302  # staff only
    assert org_a_clients["member session"].get("/admin/").status_code == 302  # a member is not staff


class _UnscopedDevice(APIView):
    def get(self, request: Any, device: str) -> Response:
        found = Device.objects.get(slug=device)  # forgets the organization
        return Response({"name": found.name})


class _UnscopedList(APIView):
    def get(self, request: Any) -> Response:
        return Response([d.name for d in Device.objects.all()])


@login_required
def _half_scoped_page(request: HttpRequest, org: str, device: str) -> HttpResponse:
    page_organization(request.user, org)  # checks the org ...
    return HttpResponse(Device.objects.get(slug=device).name)  # ... but not that the device is in it


def test_an_unscoped_endpoint_fails_the_walk(
    org_a_clients: dict[str, Any], org_b: OrgB, org: Organization, settings: Any
) -> None:
    from portal import urls

    leaky = types.ModuleType("tests._leaky_urls")
    leaky.urlpatterns = [  # type: ignore[attr-defined]
        *urls.urlpatterns,
        path("api/v1/leaky/<slug:device>/", _UnscopedDevice.as_view()),
        path("api/v1/leaky-list/", _UnscopedList.as_view()),
        path("o/<slug:org>/leaky/<slug:device>/", _half_scoped_page),
    ]
    sys.modules[leaky.__name__] = leaky
    settings.ROOT_URLCONF = leaky.__name__
    clear_url_caches()
    try:
        problems = isolation_problems(org_a_clients, org_b, own_org=org.slug)
    finally:
        del sys.modules[leaky.__name__]
        clear_url_caches()
    assert (
        f"GET /api/v1/leaky/{B_DEVICE}/ (api/v1/leaky/<slug:device>/) as key with every scope: 200, "
        "expected 404 for org B's object"
    ) in problems
    assert f"GET /api/v1/leaky-list/ (api/v1/leaky-list/) as member session: 200 and shows org B's ['{B_DEVICE}']" in (
        problems
    )
    # The page checks the org in its URL but not that the device belongs to it: only the mixed URL shows it.
    page = f"GET /o/{org.slug}/leaky/{B_DEVICE}/ (o/<slug:org>/leaky/<slug:device>/) as member session: 200"
    assert f"{page}, expected 404 for org B's object" in problems
    assert not any(p.startswith(f"GET /o/{org_b.org.slug}/leaky/") for p in problems)
