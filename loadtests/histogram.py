"""Request statistics from Locust's own numbers: percentiles from its response-time histogram, never averaged.

Locust keeps, per (name, method), `response_times`: {rounded ms: count} (stats.bucket_response_time rounds to
about two significant digits). Its percentiles are `calculate_response_time_percentile` over that histogram;
`percentile()` below is the same walk, so the portal's p95 is the p95 Locust itself prints for the run. An
aggregate over endpoints is the percentile of the merged histogram, which an average of percentiles is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PERCENTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def percentile(histogram: Mapping[int, int], count: int, fraction: float) -> int:
    """The response time `fraction` of `count` requests finished within (Locust's algorithm, ms)."""
    wanted = int(count * fraction)
    seen = 0
    for bucket in sorted(histogram, reverse=True):
        seen += histogram[bucket]
        if count - seen <= wanted:
            return bucket
    return 0


def percentiles(histogram: Mapping[int, int], count: int | None = None) -> dict[str, int | None]:
    """p50/p95/p99; None for an empty histogram (no timed requests)."""
    total = sum(histogram.values()) if count is None else count
    if total <= 0 or not histogram:
        return {key: None for key, _ in PERCENTILES}
    return {key: percentile(histogram, total, fraction) for key, fraction in PERCENTILES}


def merge(histograms: list[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for bucket, count in histogram.items():
            merged[bucket] = merged.get(bucket, 0) + count
    return merged


def diff(latest: Mapping[int, int], old: Mapping[int, int]) -> dict[int, int]:
    """The requests of `latest` not yet in `old` (Locust's diff_response_time_dicts)."""
    return {t: latest[t] - old.get(t, 0) for t in latest if latest[t] - old.get(t, 0)}


def summary(entry: Mapping[str, Any], duration: float | None = None) -> dict[str, Any]:
    """One endpoint's final row from a validated Locust stats entry (loadtests.serializers.LocustEntry).

    `duration`: the whole run's seconds, which Locust divides every endpoint's count by for its rps; without
    it the entry's own first-to-last request time (what `--json` output carries)."""
    histogram: dict[int, int] = entry["response_times"]
    requests = entry["num_requests"]
    failures = entry["num_failures"]
    timed = max(requests - entry.get("num_none_requests", 0), 0)
    duration = duration or _duration(entry)
    row: dict[str, Any] = {
        "name": entry["name"],
        "method": entry.get("method", ""),
        "requests": requests,
        "failures": failures,
        "fail_ratio": round(failures / requests, 6) if requests else (1.0 if failures else 0.0),
        "rps": round(requests / duration, 3) if duration else None,
        "fail_rps": round(failures / duration, 3) if duration else None,
        "avg": round(entry["total_response_time"] / timed, 3) if timed and "total_response_time" in entry else None,
        "min": entry.get("min_response_time"),
        "max": entry.get("max_response_time"),
        **percentiles(histogram, timed if histogram else 0),
        "response_times": {str(k): v for k, v in sorted(histogram.items())},
    }
    return row


def _duration(entry: Mapping[str, Any]) -> float | None:
    """Seconds between the first and the last request (Locust's total_rps denominator)."""
    start, last = entry.get("start_time"), entry.get("last_request_timestamp")
    if start is None or last is None or last <= start:
        return None
    return float(last - start)
