"""Deltas between two readings of a node's counters, as Prometheus' increase() counts them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from quotas.kong import BandwidthSample

SeriesKey = tuple[str, str, str]  # (service, route, direction)


@dataclass(frozen=True, slots=True)
class CounterDeltas:
    by_series: dict[SeriesKey, int]  # summed over consumers and workspaces, zero deltas left out
    snapshot: dict[str, float]  # what to store for the next reading
    resets: int  # series whose counter went down (the node restarted)
    baselines: int  # series seen for the first time (count nothing)


def counter_deltas(previous: Mapping[str, float], samples: Mapping[str, BandwidthSample]) -> CounterDeltas:
    """value - previous; the whole value when it went down (a reset); nothing for a first sample.

    Series missing from this reading keep their last value, so one that comes back after a restart
    with a smaller value is counted as a reset rather than taken as a new baseline.
    """
    snapshot = dict(previous)
    sums: defaultdict[SeriesKey, float] = defaultdict(float)
    resets = baselines = 0
    for key, sample in samples.items():
        value = sample.value
        before = previous.get(key)
        snapshot[key] = value
        if before is None:
            baselines += 1
            continue
        if value < before:
            resets += 1
            delta = value
        else:
            delta = value - before
        if delta:
            sums[(sample.service, sample.route, sample.direction)] += delta
    by_series = {series: round(total) for series, total in sums.items() if round(total)}
    return CounterDeltas(by_series=by_series, snapshot=snapshot, resets=resets, baselines=baselines)


def sum_deltas(*parts: Mapping[SeriesKey, int]) -> dict[SeriesKey, int]:
    """Deltas of several nodes added per series (what the service moved through the whole cluster)."""
    total: defaultdict[SeriesKey, int] = defaultdict(int)
    for part in parts:
        for series, value in part.items():
            total[series] += value
    return dict(total)
