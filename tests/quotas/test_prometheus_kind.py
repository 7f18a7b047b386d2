"""The `prometheus` kind against Debian's real Prometheus scraping two Kong-format exporters (2.x and 3.7)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from quotas.models import GatewayService, ScrapeTarget, UsagePeriod
from quotas.scraping import scrape_target
from quotas.simulator import KongNode
from tests.conftest import require_server
from tests.quotas.prometheus_server import PrometheusServer, prometheus_available


@pytest.fixture
def cluster(kong_node: Callable[..., tuple[KongNode, str]]) -> Iterator[tuple[PrometheusServer, KongNode, KongNode]]:
    require_server(prometheus_available(), "prometheus not installed (apt install prometheus)")
    old, old_url = kong_node("2.8")
    new, new_url = kong_node("3.7")
    for node in (old, new):
        node.add("shop-svc", "checkout", "egress", 1)
        node.add("shop-svc", "checkout", "ingress", 1)
    server = PrometheusServer([old_url, new_url])
    server.start()
    yield server, old, new
    server.stop()


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.25)


@pytest.mark.django_db
def test_increase_windows_from_a_real_prometheus(
    cluster: tuple[PrometheusServer, KongNode, KongNode], shop: GatewayService, make_target: Callable
) -> None:
    server, old, new = cluster
    _wait(lambda: len(server.query('up{job="kong"} == 1')) == 2, 30, "Prometheus to scrape both nodes")
    target: ScrapeTarget = make_target(server.url, kind="prometheus", interval_seconds=2)
    assert scrape_target(target.id).ok  # first scrape: the cursor is set, nothing counted
    target.refresh_from_db()
    assert target.window_end is not None and UsagePeriod.objects.count() == 0

    # Steady traffic on both nodes for ~12 s: 2 x 48 x 250 = 24,000 egress bytes, 2 x 48 x 10 ingress.
    for _ in range(48):
        old.add("shop-svc", "checkout", "egress", 250)
        new.add("shop-svc", "checkout", "egress", 250)
        old.add("shop-svc", "checkout", "ingress", 10)
        new.add("shop-svc", "checkout", "ingress", 10)
        time.sleep(0.25)
    time.sleep(5)  # the last windows close (the scrape leaves one step for Prometheus to catch up)
    now = datetime.now(UTC)
    result = scrape_target(target.id, now=now)
    assert result.ok, result.error
    [usage] = UsagePeriod.objects.filter(service=shop, end__gt=datetime.now(UTC))
    # increase() extrapolates within each window, so the total is close to, not exactly, what was sent.
    assert 0.6 * 24_000 <= usage.egress_bytes <= 1.4 * 24_000, usage.egress_bytes
    assert 0.6 * 960 <= usage.ingress_bytes <= 1.4 * 960, usage.ingress_bytes
    counted = (usage.ingress_bytes, usage.egress_bytes)

    # The same scrape again (a retried task) counts nothing: the cursor moved in the same transaction.
    again = scrape_target(target.id, now=now)
    assert again.ok and again.bytes_counted == 0
    usage.refresh_from_db()
    assert (usage.ingress_bytes, usage.egress_bytes) == counted
    # And the store got the same bytes, tagged for the chart.
    assert result.points_written > 0


@pytest.mark.django_db
def test_a_non_prometheus_answer_is_a_clear_error(
    shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:
    _node, url = kong_node()
    target = make_target(url.replace("/metrics", ""), kind="prometheus", interval_seconds=1)
    scrape_target(target.id)
    time.sleep(2.1)
    result = scrape_target(target.id)
    assert not result.ok and result.error.startswith("HTTP 404")
