"""Deltas as Prometheus' increase() counts them: first sample a baseline, a drop is a reset, nodes add up."""

from __future__ import annotations

from quotas.counters import counter_deltas, sum_deltas
from quotas.kong import parse_bandwidth
from quotas.simulator import KongNode


def _read(node: KongNode) -> dict:  # type: ignore[type-arg]
    return parse_bandwidth(node.exposition()).samples


def test_first_reading_is_a_baseline_then_differences_count() -> None:
    node = KongNode("3.7")
    node.add("shop", "r", "egress", 1000)
    first = counter_deltas({}, _read(node))
    assert first.by_series == {} and first.baselines == 1
    node.add("shop", "r", "egress", 250)
    second = counter_deltas(first.snapshot, _read(node))
    assert second.by_series == {("shop", "r", "egress"): 250}
    again = counter_deltas(second.snapshot, _read(node))  # the same reading twice counts nothing
    assert again.by_series == {}


def test_a_counter_that_went_down_counts_its_whole_new_value() -> None:
    node = KongNode("2.8")
    node.add("shop", "r", "ingress", 5000)
    snapshot = counter_deltas({}, _read(node)).snapshot
    node.restart()
    node.add("shop", "r", "ingress", 40)
    after = counter_deltas(snapshot, _read(node))
    assert after.by_series == {("shop", "r", "ingress"): 40}
    assert after.resets == 1


def test_a_series_missing_for_a_reading_is_remembered_so_its_return_counts_as_a_reset() -> None:
    node = KongNode("3.4")
    node.add("shop", "r", "egress", 900)
    snapshot = counter_deltas({}, _read(node)).snapshot
    node.restart()
    empty = counter_deltas(snapshot, _read(node))  # restarted, no traffic yet: nothing exposed
    assert empty.by_series == {} and len(empty.snapshot) == 1
    node.add("shop", "r", "egress", 30)
    assert counter_deltas(empty.snapshot, _read(node)).by_series == {("shop", "r", "egress"): 30}


def test_consumers_are_summed_per_service_route_direction_and_nodes_add_up() -> None:
    old, new = KongNode("2.0"), KongNode("3.7")
    for node in (old, new):
        node.add("shop", "r", "egress", 100)
    new.add("shop", "r", "egress", 50, consumer="alice")
    snaps = [counter_deltas({}, _read(node)).snapshot for node in (old, new)]
    old.add("shop", "r", "egress", 10)
    new.add("shop", "r", "egress", 20)
    new.add("shop", "r", "egress", 5, consumer="alice")
    parts = [counter_deltas(snap, _read(node)).by_series for snap, node in zip(snaps, (old, new), strict=True)]
    assert parts[1] == {("shop", "r", "egress"): 25}
    assert sum_deltas(*parts) == {("shop", "r", "egress"): 35}
