"""Percentiles from Locust's histogram, checked against hand-computed values and Locust's own function."""

from __future__ import annotations

import json
import random
import subprocess
import sys

from loadtests import histogram
from loadtests.services import final_rows
from tests.loadtests.conftest import entry


def test_percentiles_by_hand() -> None:
    # 100 requests: 50 at 10 ms, 40 at 20 ms, 9 at 100 ms, 1 at 1000 ms. Locust's rule: the slowest bucket with
    # at most int(n * f) requests faster than it. p50: 50 are faster than 20 ms (<= 50) → 20; p95: 90 faster than
    # 100 ms (<= 95), 99 faster than 1000 (> 95) → 100; p99: 99 faster than 1000 ms (<= 99) → 1000.
    h = {10: 50, 20: 40, 100: 9, 1000: 1}
    assert histogram.percentiles(h) == {"p50": 20, "p95": 100, "p99": 1000}
    assert histogram.percentile(h, 100, 0.49) == 10  # 0 faster than 10 ms; 50 faster than 20 (> 49)
    assert histogram.percentiles({}) == {"p50": None, "p95": None, "p99": None}


# Locust monkey-patches the whole process with gevent when imported, so its function runs in a subprocess.
_LOCUST = """
import json, sys
from locust.stats import calculate_response_time_percentile as p
cases = json.load(sys.stdin)
out = [[p({int(k): v for k, v in h.items()}, sum(h.values()), f) for f in (0.5, 0.95, 0.99)] for h in cases]
print(json.dumps(out))
"""


def test_same_as_locusts_own_function() -> None:
    rng = random.Random(7)
    cases = [
        {rng.choice([1, 2, 5, 9, 12, 40, 150, 320, 990, 4100]): rng.randint(1, 50) for _ in range(rng.randint(1, 9))}
        for _ in range(200)
    ]
    out = subprocess.run(
        [sys.executable, "-c", _LOCUST], input=json.dumps(cases), capture_output=True, text=True, check=True, timeout=60
    )
    expected = json.loads(out.stdout)
    mine = [[histogram.percentile(h, sum(h.values()), f) for f in (0.5, 0.95, 0.99)] for h in cases]
    assert mine == expected


def test_aggregate_is_the_merged_histogram_not_an_average() -> None:
    fast = entry("/fast", "GET", {10: 99})
    slow = entry("/slow", "GET", {1000: 1})
    for e in (fast, slow):  # as validated (loadtests.serializers.HistogramField): int buckets
        e["response_times"] = {int(k): v for k, v in e["response_times"].items()}
    rows = final_rows([fast, slow], None, 10.0)
    total = rows[0]
    assert (total["name"], total["requests"]) == ("Aggregated", 100)
    # 100 requests, 99 at 10 ms: p50 and p95 are 10 ms (the mean of the two p95s would be 505); p99 is 1000
    # (99 requests are faster than 1000 ms, and int(100 * 0.99) = 99).
    assert (total["p50"], total["p95"], total["p99"], total["max"]) == (10, 10, 1000, 1000)
    assert total["rps"] == 10.0  # 100 requests / 10 s
    assert [r["name"] for r in rows[1:]] == ["/fast", "/slow"]
