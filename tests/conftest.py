"""Shared fixtures: organizations, devices, keys and an API client per key."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import Organization
from accounts.scopes import registered_scopes
from devices import services
from devices.models import Device

pytest_plugins = ["tests.fixtures_servers", "tests.celery_fixtures"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_finish(session: pytest.Session) -> None:
    # deploy.sh's first run builds a fresh virtualenv (pip: tens of seconds): when its test is selected, start it
    # now in the background, so it overlaps the tests before it (tests/portal/test_deploy.py, FirstDeploy).
    if any("first_deploy" in getattr(item, "fixturenames", ()) for item in session.items):
        from tests.portal.test_deploy import start_first_deploy

        start_first_deploy()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A run that stopped before the deploy test (-x, Ctrl-C) still drops the first deploy's database.
    test_deploy = sys.modules.get("tests.portal.test_deploy")
    if test_deploy is not None:
        test_deploy.close_first_deploy()


def require_server(available: bool, reason: str) -> None:
    """Skip when a server binary is missing, except under CI=true where it is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing server fails the run)")
    pytest.skip(reason)


@pytest.fixture
def org(db: None) -> Organization:
    return accounts.organization_create(name="Acme Edge")


@pytest.fixture
def other_org(db: None) -> Organization:
    return accounts.organization_create(name="Globex")


@pytest.fixture
def device(org: Organization) -> Device:
    return services.device_create(organization=org, name="edge-01", tags={"site": "lab"})


@pytest.fixture
def issue_key(db: None) -> Callable[..., str]:
    def _issue(organization: Organization, scopes: list[str] | None = None, **kwargs: object) -> str:
        issued = accounts.api_key_issue(
            organization=organization,
            name="test key",
            scopes=scopes or registered_scopes(),  # every scope an installed app registered
            **kwargs,  # type: ignore[arg-type]
        )
        return issued.plaintext

    return _issue


@pytest.fixture
def client_for() -> Callable[[str], APIClient]:
    def _client(plaintext: str, header: str = "bearer") -> APIClient:
        client = APIClient()
        if header == "bearer":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        elif header == "token":
            client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
        else:
            client.credentials(HTTP_X_API_KEY=plaintext)
        return client

    return _client


@pytest.fixture
def api(org: Organization, issue_key: Callable[..., str], client_for: Callable[[str], APIClient]) -> APIClient:
    """A client holding an all-scopes key of `org`."""
    return client_for(issue_key(org))


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    # The per-process authentication memory must not carry a key from one test into another.
    from accounts import key_cache

    key_cache.clear()
    yield
    key_cache.clear()
