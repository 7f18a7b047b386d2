"""Registry fixtures: a key client for org A (every scope) and the exposition parsed back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from accounts.models import Organization


@pytest.fixture(autouse=True)
def _no_rate_limit(settings: Any) -> None:
    settings.RATELIMIT_ENABLE = False


@pytest.fixture
def gauges(org: Organization, issue_key: Callable[..., str], client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for(issue_key(org, ["gauges:write", "gauges:read", "scrape"]))


def scrape(client: APIClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics, parsed with prometheus_client's parser: {(sample name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def families(client: APIClient) -> dict[str, str]:
    response = client.get("/metrics")
    return {f.name: f.type for f in text_string_to_metric_families(response.content.decode())}
