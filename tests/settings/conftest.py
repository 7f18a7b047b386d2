"""Settings-page fixtures: an org admin, a viewer and an outsider (each a signed-in client), the real SMTP
server and webhook receiver (tests/notify_servers.py), the ingest store fixtures, and one Celery broker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts import services as accounts
from accounts.models import Membership, Organization
from tests.celery_fixtures import Broker
from tests.ingest.conftest import _fresh_cache_and_store, read_points  # noqa: F401  (fixtures)
from tests.notifications.conftest import receiver, smtp_server  # noqa: F401  (fixtures)

PASSWORD = "pw-for-settings-tests"


@dataclass
class People:
    admin: User
    viewer: User
    outsider: User  # an admin of another organization
    admin_client: Client
    viewer_client: Client
    outsider_client: Client
    admin_membership: Membership


def _signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def people(org: Organization, other_org: Organization) -> People:
    admin = User.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)
    viewer = User.objects.create_user(username="victor", email="victor@example.com", password=PASSWORD)
    outsider = User.objects.create_user(username="olga", email="olga@example.com", password=PASSWORD)
    admin_membership = accounts.membership_grant(user=admin, organization=org, role=Membership.Role.ADMIN)
    accounts.membership_grant(user=viewer, organization=org, role=Membership.Role.VIEWER)
    accounts.membership_grant(user=outsider, organization=other_org, role=Membership.Role.ADMIN)
    return People(
        admin=admin,
        viewer=viewer,
        outsider=outsider,
        admin_client=_signed_in(admin),
        viewer_client=_signed_in(viewer),
        outsider_client=_signed_in(outsider),
        admin_membership=admin_membership,
    )


@pytest.fixture
def csrf_client(people: People) -> Client:
    """The org admin in a client that enforces CSRF, as a browser's requests are checked."""
    return _signed_in(people.admin, csrf=True)


@pytest.fixture
def celery_broker(filesystem_broker: Broker) -> Broker:
    # One broker is enough here (the broker matrix is tests/portal/test_celery.py's); no Redis needed.
    return filesystem_broker


def csrf_token(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    token: Any = response.context["csrf_token"]
    return str(token)
