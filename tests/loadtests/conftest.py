"""Load-test fixtures: a write key and a read key of `org`, Locust-shaped stats entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from tests.loadtests.live import locustfile, portal, target  # noqa: F401 - fixtures of the Locust tests
from tests.pages.conftest import browser  # noqa: F401 - Playwright on Debian's chromium


@pytest.fixture
def writer(org: Organization, issue_key: Callable[..., str], client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for(issue_key(org, ["loadtests:write"]))


@pytest.fixture
def reader(org: Organization, issue_key: Callable[..., str], client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for(issue_key(org, ["metrics:read"]))


def entry(name: str, method: str, histogram: dict[int, int], failures: int = 0, **extra: Any) -> dict[str, Any]:
    """A Locust StatsEntry as the plugin (and `--json`) sends it."""
    requests = sum(histogram.values())
    return {
        "name": name,
        "method": method,
        "num_requests": requests,
        "num_failures": failures,
        "num_none_requests": 0,
        "total_response_time": sum(t * n for t, n in histogram.items()),
        "min_response_time": min(histogram) if histogram else None,
        "max_response_time": max(histogram) if histogram else None,
        "response_times": {str(t): n for t, n in histogram.items()},
        "start_time": 1_760_000_000.0,
        "last_request_timestamp": 1_760_000_010.0,
        **extra,
    }


def register(client: APIClient, **body: Any) -> str:
    response = client.post("/api/v1/loadtests/", body, format="json")
    assert response.status_code == 201, response.content
    return str(response.json()["uuid"])


def commit(client: APIClient, run: str, entries: list[dict[str, Any]], **body: Any) -> Any:
    return client.post(f"/api/v1/loadtests/{run}/commit", {"entries": entries, **body}, format="json")
