"""Gateway scrapes as Beacon's own metrics count them (`/-/metrics`), against real exporters on loopback."""

from __future__ import annotations

from collections.abc import Callable

from quotas.models import GatewayService
from quotas.scraping import scrape_target
from tests.portal.test_opsmetrics import TOKEN, samples, value
from tests.servers import free_port


def test_scrapes_are_counted_by_kind_and_outcome(
    settings, shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:
    settings.OPS_METRICS_TOKEN = TOKEN
    node, url = kong_node("3.7")
    node.add("shop-svc", "checkout", "egress", 100)
    good, dead = make_target(url), make_target(f"http://127.0.0.1:{free_port()}/metrics")
    before = samples()
    results = [scrape_target(good.id), scrape_target(good.id), scrape_target(dead.id)]
    assert [r.ok for r in results] == [True, True, False]
    after = samples()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("beacon_scrapes_total", kind="exporter", outcome="ok") == 2
    assert delta("beacon_scrapes_total", kind="exporter", outcome="unreachable") == 1
    assert delta("beacon_scrape_duration_seconds_count", kind="exporter") == 3
    assert delta("beacon_scrape_duration_seconds_sum", kind="exporter") > 0
