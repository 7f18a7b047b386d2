"""The seed's compatibility routes (metrics-consumer's /apiv0.1/events/...), with its payloads unchanged.

register: {startedAt, host, measurement: {fields: {clients, hatchRate, requests}, tags: {targetHost, mode}}}
commit:   {startedAt, uuid, host, measurement: {fields: {requestStats: {...}}, tags: {hostname, mode}}}
isrunning: {"<uuid>": true, ...}

`requestStats` is stored as given. Per-endpoint counts are read from it where it uses Locust's names: a list of
entries, `{"stats": [...]}` (Locust's web UI /stats/requests) or `{"<name>": {...}}`, each entry with
`num_requests`, `num_failures`, `median_response_time`, `avg_response_time`, `min_response_time`,
`max_response_time`, `current_rps`/`total_rps`, `response_time_percentile_0.95`/`_0.99`, and when present
`response_times` (the histogram, from which the percentiles are then computed).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from loadtests import histogram
from loadtests.models import LoadTestRun
from loadtests.serializers import PLAN_PATTERN, HistogramField, _no_control

SEED_PLAN = "seed"
TOTAL_NAMES = ("Aggregated", "Total", "total")
MAX_ENTRIES = 1000


class MomentField(serializers.Field):  # type: ignore[type-arg]
    """The seed's `Date`: ISO 8601, or epoch seconds / milliseconds (a JavaScript Date.now())."""

    def to_internal_value(self, data: Any) -> datetime:
        if isinstance(data, bool):
            raise serializers.ValidationError("must be an ISO 8601 time or epoch seconds/milliseconds")
        if isinstance(data, (int, float)):
            if not math.isfinite(data) or data < 0 or data > 1e14:
                raise serializers.ValidationError("epoch time out of range")
            return datetime.fromtimestamp(data / 1000 if data > 1e11 else data, tz=UTC)
        return serializers.DateTimeField().to_internal_value(data)

    def to_representation(self, value: Any) -> Any:
        return value.isoformat()


class _RegisterFields(serializers.Serializer[dict]):
    clients = serializers.IntegerField(min_value=0, max_value=100_000_000, default=0)
    hatchRate = serializers.FloatField(min_value=0, max_value=1e7, default=0)
    requests = serializers.IntegerField(min_value=0, required=False)


class _Tags(serializers.Serializer[dict]):
    targetHost = serializers.CharField(max_length=500, allow_blank=True, default="", validators=[_no_control])
    hostname = serializers.CharField(max_length=500, allow_blank=True, required=False, validators=[_no_control])
    mode = serializers.ChoiceField(choices=LoadTestRun.Mode.choices, default=LoadTestRun.Mode.SINGLE)
    plan = serializers.RegexField(PLAN_PATTERN, required=False)


class _RegisterMeasurement(serializers.Serializer[dict]):
    fields = _RegisterFields(default=dict)  # type: ignore[assignment]  # the seed's key; DRF pops declared fields
    tags = _Tags(default=dict)


class SeedRegisterSerializer(serializers.Serializer[dict]):
    startedAt = MomentField(required=False)
    host = serializers.CharField(max_length=255, allow_blank=True, default="", validators=[_no_control])
    measurement = _RegisterMeasurement()


class _CommitFields(serializers.Serializer[dict]):
    requestStats = serializers.JSONField()

    def validate_requestStats(self, value: Any) -> Any:
        if not isinstance(value, (dict, list)):
            raise serializers.ValidationError("must be a JSON object or array (Locust's request stats)")
        return value


class _CommitMeasurement(serializers.Serializer[dict]):
    fields = _CommitFields()  # type: ignore[assignment]  # the seed's key; DRF pops declared fields
    tags = _Tags(default=dict)


class SeedCommitSerializer(serializers.Serializer[dict]):
    startedAt = MomentField(required=False, help_text="The time the load test ended (the seed's naming).")
    uuid = serializers.UUIDField()
    host = serializers.CharField(max_length=255, allow_blank=True, default="", validators=[_no_control])
    measurement = _CommitMeasurement()


def register_arguments(data: dict[str, Any]) -> dict[str, Any]:
    # A nested serializer's default ({}) skips its fields' defaults, hence .get() with the same defaults.
    fields, tags = data["measurement"].get("fields", {}), data["measurement"].get("tags", {})
    extra = {k: str(fields["requests"]) for k in ("requests",) if fields.get("requests") is not None}
    return {
        "plan": tags.get("plan") or SEED_PLAN,
        "target_host": tags.get("targetHost", ""),
        "host": data.get("host", ""),
        "mode": tags.get("mode", LoadTestRun.Mode.SINGLE),
        "users": fields.get("clients", 0),
        "spawn_rate": fields.get("hatchRate", 0),
        "started_at": data.get("startedAt"),
        "tags": {"source": "apiv0.1", **extra},
    }


def _entries(stats: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(stats, dict) and isinstance(stats.get("stats"), list):
        items: list[Any] = stats["stats"]
    elif isinstance(stats, list):
        items = stats
    elif isinstance(stats, dict):
        items = [{"name": k, **v} for k, v in stats.items() if isinstance(v, dict)]
    else:
        items = []
    found = []
    for item in items[:MAX_ENTRIES]:
        if (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and _count(item.get("num_requests")) is not None
        ):
            found.append((item["name"][:256], item))
    return found


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53 else None


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    return float(value) if ok else None


def _row(name: str, item: dict[str, Any]) -> dict[str, Any]:
    requests = _count(item.get("num_requests")) or 0
    failures = _count(item.get("num_failures")) or 0
    raw_histogram = item.get("response_times")
    percentiles: dict[str, Any] = {}
    buckets: dict[int, int] = {}
    if isinstance(raw_histogram, dict):
        try:
            buckets = HistogramField().to_internal_value(raw_histogram)
        except serializers.ValidationError:
            buckets = {}
    if buckets:
        percentiles = histogram.percentiles(buckets)
    else:
        p50 = _number(item.get("median_response_time"))
        p95 = _number(item.get("response_time_percentile_0.95"))
        p99 = _number(item.get("response_time_percentile_0.99"))
        percentiles = {k: (None if v is None else round(v)) for k, v in (("p50", p50), ("p95", p95), ("p99", p99))}
    rps = _number(item.get("total_rps")) if item.get("total_rps") is not None else _number(item.get("current_rps"))
    fail_rps = _number(item.get("total_fail_per_sec", item.get("current_fail_per_sec")))
    method = item.get("method") if isinstance(item.get("method"), str) else ""
    return {
        "name": name,
        "method": (method or "")[:32],
        "requests": requests,
        "failures": failures,
        "fail_ratio": round(failures / requests, 6) if requests else (1.0 if failures else 0.0),
        "rps": rps,
        "fail_rps": fail_rps,
        "avg": _number(item.get("avg_response_time")),
        "min": _number(item.get("min_response_time")),
        "max": _number(item.get("max_response_time")),
        **percentiles,
        "response_times": {str(k): v for k, v in sorted(buckets.items())},
    }


def commit_rows(stats: Any) -> list[dict[str, Any]]:
    """Final rows (aggregated first) from the seed's requestStats, as far as it uses Locust's names."""
    entries = _entries(stats)
    totals = [(n, i) for n, i in entries if n in TOTAL_NAMES and not i.get("method")]
    endpoints = [_row(n, i) for n, i in entries if (n, i) not in totals]
    if totals:
        total = _row("Aggregated", totals[0][1])
    else:
        requests = sum(r["requests"] for r in endpoints)
        failures = sum(r["failures"] for r in endpoints)
        merged = histogram.merge([{int(k): v for k, v in r["response_times"].items()} for r in endpoints])
        rps = [r["rps"] for r in endpoints if r["rps"] is not None]
        total = {
            **_row("Aggregated", {"num_requests": requests, "num_failures": failures, "response_times": merged}),
            "rps": round(sum(rps), 3) if rps else None,
        }
        if not merged:  # without histograms no aggregate percentile can be computed honestly
            total.update(p50=None, p95=None, p99=None)
    total["name"], total["method"] = "Aggregated", ""
    return [total, *sorted(endpoints, key=lambda r: (r["name"], r["method"]))]
