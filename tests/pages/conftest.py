"""Page fixtures: a member of `org` with a signed-in client."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts import services as accounts
from accounts.models import Membership, Organization

PASSWORD = "pw-for-page-tests"


@pytest.fixture
def member(org: Organization) -> User:
    user = User.objects.create_user(username="cust", password=PASSWORD)
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def member_client(member: User) -> Client:
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def write(issue_key: Any, client_for: Any) -> Any:
    """Write line protocol for an org through the real API; returns nothing, asserts 204."""

    def _write(organization: Organization, body: str) -> None:
        response = client_for(issue_key(organization, ["metrics:write"])).post(
            "/api/v2/write?precision=s", data=body.encode(), content_type="text/plain"
        )
        assert response.status_code == 204, response.content

    return _write
