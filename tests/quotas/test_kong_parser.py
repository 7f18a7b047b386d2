"""Every generation of Kong's bandwidth counter, labels matched by name whatever their order."""

from __future__ import annotations

import pytest

from quotas.kong import ExpositionError, parse_bandwidth
from quotas.simulator import GENERATIONS, KongNode

KONG_20 = """# HELP kong_bandwidth Total bandwidth in bytes consumed per service/route in Kong
# TYPE kong_bandwidth counter
kong_bandwidth{type="egress",service="shop",route="checkout"} 1200
kong_bandwidth{type="ingress",service="shop",route="checkout"} 300
"""
KONG_28 = """# HELP kong_bandwidth Total bandwidth in bytes consumed per service/route in Kong
# TYPE kong_bandwidth counter
kong_bandwidth{service="shop",route="checkout",type="egress"} 1200
kong_bandwidth{service="shop",route="checkout",type="ingress"} 300
# HELP kong_latency Latency added by Kong, total request time and upstream latency
# TYPE kong_latency histogram
kong_latency_bucket{service="shop",route="checkout",type="kong",le="1"} 10
"""
KONG_34 = """# HELP kong_bandwidth_bytes Total bandwidth (ingress/egress) throughput in bytes
# TYPE kong_bandwidth_bytes counter
kong_bandwidth_bytes{service="shop",route="checkout",direction="egress",consumer=""} 1200
kong_bandwidth_bytes{service="shop",route="checkout",direction="ingress",consumer="alice"} 100
kong_bandwidth_bytes{service="shop",route="checkout",direction="ingress",consumer="bob"} 200
"""
KONG_37 = """# HELP kong_bandwidth_bytes Total bandwidth (ingress/egress) throughput in bytes
# TYPE kong_bandwidth_bytes counter
kong_bandwidth_bytes{service="shop",route="checkout",direction="egress",workspace="default",consumer=""} 1200
kong_bandwidth_bytes{service="shop",route="checkout",direction="ingress",workspace="default",consumer=""} 100
kong_bandwidth_bytes{service="shop",route="checkout",direction="ingress",workspace="team-b",consumer=""} 200
"""
# The same counters with the labels in an order no Kong writes, and without HELP/TYPE (untyped).
SHUFFLED = (
    'kong_bandwidth_bytes{consumer="",workspace="default",direction="egress",route="checkout",service="shop"} 1200\n'
    'kong_bandwidth_bytes{direction="ingress",consumer="",route="checkout",service="shop",workspace="default"} 300\n'
)


def _totals(text: str) -> dict[tuple[str, str, str], float]:
    totals: dict[tuple[str, str, str], float] = {}
    for sample in parse_bandwidth(text).samples.values():
        key = (sample.service, sample.route, sample.direction)
        totals[key] = totals.get(key, 0) + sample.value
    return totals


@pytest.mark.parametrize(
    "text", [KONG_20, KONG_28, KONG_34, KONG_37, SHUFFLED], ids=["2.0", "2.8", "3.4", "3.7", "shuffled"]
)
def test_every_generation_gives_the_same_counters(text: str) -> None:
    assert _totals(text) == {("shop", "checkout", "egress"): 1200, ("shop", "checkout", "ingress"): 300}


def test_consumer_and_workspace_keep_their_counters_apart() -> None:
    samples = parse_bandwidth(KONG_37).samples
    assert len(samples) == 3
    workspaces = sorted(s.workspace for s in samples.values() if s.direction == "ingress")
    assert workspaces == ["default", "team-b"]
    consumers = sorted(s.consumer for s in parse_bandwidth(KONG_34).samples.values() if s.direction == "ingress")
    assert consumers == ["alice", "bob"]


@pytest.mark.parametrize("generation", list(GENERATIONS))
def test_the_simulator_writes_each_generation_in_kongs_label_order(generation: str) -> None:
    node = KongNode(generation, workspace="default")
    node.add("shop", "checkout", "egress", 1200)
    node.add("shop", "checkout", "ingress", 300)
    text = node.exposition()
    name, order = GENERATIONS[generation]
    line = next(line for line in text.splitlines() if line.startswith(f"{name}{{") and "egress" in line)
    assert [part.split("=")[0] for part in line[line.index("{") + 1 : line.index("}")].split(",")] == list(order)
    assert _totals(text) == {("shop", "checkout", "egress"): 1200, ("shop", "checkout", "ingress"): 300}


def test_insane_samples_are_rejected_and_counted_not_fatal() -> None:
    text = (
        "# TYPE kong_bandwidth_bytes counter\n"
        'kong_bandwidth_bytes{service="shop",route="r",direction="sideways",consumer=""} 5\n'
        'kong_bandwidth_bytes{service="",route="r",direction="egress",consumer=""} 5\n'
        f'kong_bandwidth_bytes{{service="{"x" * 300}",route="r",direction="egress",consumer=""}} 5\n'
        'kong_bandwidth_bytes{service="shop",route="r",direction="egress",consumer=""} NaN\n'
        'kong_bandwidth_bytes{service="shop",route="r",direction="ingress",consumer=""} -4\n'
        'kong_bandwidth_bytes{service="shop\\nx",route="r",direction="ingress",consumer=""} 4\n'
        'kong_bandwidth_bytes{service="shop",route="r",direction="egress",consumer=""} 7\n'
    )
    parsed = parse_bandwidth(text)
    assert parsed.rejected == 6
    assert "sideways" in parsed.first_rejection
    assert [(s.direction, s.value) for s in parsed.samples.values()] == [("egress", 7)]


def test_unparseable_text_and_too_many_series_are_errors() -> None:
    with pytest.raises(ExpositionError, match="not a Prometheus text exposition"):
        parse_bandwidth('kong_bandwidth_bytes{service="a",route="b" 12\n')
    many = "".join(
        f'kong_bandwidth_bytes{{service="s{i}",route="",direction="egress",consumer=""}} 1\n' for i in range(11)
    )
    with pytest.raises(ExpositionError, match="more than 10 bandwidth series"):
        parse_bandwidth(many, max_series=10)


def test_other_families_are_ignored() -> None:
    text = KONG_28 + '# TYPE kong_bandwidth_something gauge\nkong_bandwidth_something{service="x"} 9\n'
    assert _totals(text) == {("shop", "checkout", "egress"): 1200, ("shop", "checkout", "ingress"): 300}


def test_a_known_label_set_reads_only_the_new_value_and_junk_values_still_fail() -> None:
    line = 'kong_bandwidth_bytes{service="memo",route="r",direction="egress",consumer=""} '
    assert [s.value for s in parse_bandwidth(line + "10\n").samples.values()] == [10]
    assert [s.value for s in parse_bandwidth(line + "1.5e3\n").samples.values()] == [1500]  # memoised labels
    with pytest.raises(ExpositionError, match="bad sample value"):
        parse_bandwidth(line + "ten\n")
    rejected = 'kong_bandwidth_bytes{service="memo",route="r",direction="up",consumer=""} '
    for _ in range(2):  # a refused label set stays refused when it comes from the memo
        again = parse_bandwidth(rejected + "3\n")
        assert again.rejected == 1 and "'up' is not ingress or egress" in again.first_rejection
