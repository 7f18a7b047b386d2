"""Kong-format exporters on loopback, services and targets of the test org."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from accounts.models import Organization
from quotas.models import GatewayService, ScrapeTarget
from quotas.simulator import KongNode


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: object) -> None:
    settings.SCRAPE_ALLOW_PRIVATE = True  # type: ignore[attr-defined]
    settings.PUBLIC_URL = "https://beacon.example.com"  # type: ignore[attr-defined]


@pytest.fixture
def kong_node() -> Iterator[Callable[..., tuple[KongNode, str]]]:
    started: list[KongNode] = []

    def _start(generation: str = "3.7") -> tuple[KongNode, str]:
        node = KongNode(generation)
        url = node.start()
        started.append(node)
        return node, url

    yield _start
    for node in started:
        node.stop()


@pytest.fixture
def shop(org: Organization) -> GatewayService:
    return GatewayService.objects.create(organization=org, name="shop", kong_service="shop-svc")


@pytest.fixture
def make_target(org: Organization) -> Callable[..., ScrapeTarget]:
    def _make(url: str, kind: str = "exporter", organization: Organization | None = None, **kw: object) -> ScrapeTarget:
        return ScrapeTarget.objects.create(organization=organization or org, kind=kind, url=url, **kw)

    return _make


# The notification tests' real SMTP server (aiosmtpd on loopback), shared rather than copied.
from tests.notifications.conftest import smtp_server  # noqa: E402, F401
