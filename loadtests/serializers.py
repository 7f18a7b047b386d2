"""Request bodies (validated: a bad one is a 400 with field errors and writes nothing) and answers."""

from __future__ import annotations

import math
import re
from typing import Any

from rest_framework import serializers

from loadtests.models import LoadTestRun

MAX_ENTRIES = 1000  # endpoints per stats post or commit
MAX_BUCKETS = 5000  # Locust's rounding keeps a histogram near 310 buckets
MAX_COUNT = 2**53  # exact in a JSON number
MAX_MS = 86_400_000.0  # a day
PLAN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise serializers.ValidationError("must not contain control characters (newline, tab, NUL, ...)")
    if value.endswith("\\") or any("\\" + c in value for c in ",= "):
        raise serializers.ValidationError("must not have a backslash at the end or before ',', '=' or ' '")


class HistogramField(serializers.Field):  # type: ignore[type-arg]
    """Locust's `response_times`: {ms: count}, keys as JSON strings ("120") or numbers."""

    default_error_messages = {"invalid": "must be an object {response time in ms: request count}"}

    def to_internal_value(self, data: Any) -> dict[int, int]:
        if not isinstance(data, dict):
            self.fail("invalid")
        if len(data) > MAX_BUCKETS:
            raise serializers.ValidationError(f"at most {MAX_BUCKETS} buckets, got {len(data)}")
        histogram: dict[int, int] = {}
        for key, count in data.items():
            try:
                bucket = float(key)
            except (TypeError, ValueError):
                raise serializers.ValidationError(f"bucket {str(key)[:40]!r} is not a number of ms") from None
            if not math.isfinite(bucket) or bucket < 0 or bucket > MAX_MS:
                raise serializers.ValidationError(f"bucket {str(key)[:40]!r} is not between 0 and {MAX_MS:g} ms")
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
                raise serializers.ValidationError(f"bucket {str(key)[:40]!r}: count must be an integer >= 0")
            histogram[round(bucket)] = histogram.get(round(bucket), 0) + count
        return histogram

    def to_representation(self, value: Any) -> Any:
        return {str(k): v for k, v in value.items()}


def _count(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=MAX_COUNT, **kwargs)


def _ms(**kwargs: Any) -> serializers.FloatField:
    return serializers.FloatField(min_value=0, max_value=MAX_COUNT * MAX_MS, **kwargs)


class LocustEntrySerializer(serializers.Serializer[dict]):
    """One (name, method) of Locust's stats, with Locust's own key names (`StatsEntry`, `--json` output)."""

    name = serializers.CharField(max_length=256, trim_whitespace=False, validators=[_no_control])
    method = serializers.CharField(
        max_length=32, allow_blank=True, default="", trim_whitespace=False, validators=[_no_control]
    )
    num_requests = _count()
    num_failures = _count(default=0)
    num_none_requests = _count(default=0)
    total_response_time = _ms(required=False)
    min_response_time = _ms(required=False, allow_null=True)
    max_response_time = _ms(required=False, allow_null=True)
    response_times = HistogramField(default=dict)
    start_time = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1e11)
    last_request_timestamp = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1e11)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        timed = sum(attrs["response_times"].values())
        if timed > attrs["num_requests"]:
            raise serializers.ValidationError(
                {"response_times": f"holds {timed} requests, more than num_requests ({attrs['num_requests']})"}
            )
        if attrs["num_none_requests"] > attrs["num_requests"]:
            raise serializers.ValidationError({"num_none_requests": "is more than num_requests"})
        return attrs


def _unique_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = set()
    for index, entry in enumerate(entries):
        key = (entry["name"], entry["method"])
        if key in seen:
            raise serializers.ValidationError(f"item {index}: ({entry['name']!r}, {entry['method']!r}) appears twice")
        seen.add(key)
    return entries


class RegisterSerializer(serializers.Serializer[dict]):
    plan = serializers.RegexField(PLAN_PATTERN, default="default", help_text="Runs are compared within a plan.")
    target_host = serializers.CharField(max_length=500, allow_blank=True, default="", validators=[_no_control])
    host = serializers.CharField(max_length=255, allow_blank=True, default="", validators=[_no_control])
    mode = serializers.ChoiceField(choices=LoadTestRun.Mode.choices, default=LoadTestRun.Mode.SINGLE)
    users = serializers.IntegerField(min_value=0, max_value=100_000_000, default=0)
    spawn_rate = serializers.FloatField(min_value=0, max_value=1e7, default=0)
    description = serializers.CharField(max_length=2000, allow_blank=True, default="")
    tags = serializers.DictField(
        child=serializers.CharField(max_length=256, allow_blank=True, validators=[_no_control]), default=dict
    )
    checks = serializers.ListField(child=serializers.CharField(max_length=64), max_length=20, default=list)
    started_at = serializers.DateTimeField(required=False)
    locust_version = serializers.CharField(max_length=32, allow_blank=True, default="", validators=[_no_control])

    def validate_tags(self, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 32:
            raise serializers.ValidationError(f"at most 32 tags, got {len(value)}")
        for key in value:
            if not key or len(key) > 64 or _CONTROL.search(key):
                raise serializers.ValidationError(f"tag name {key[:64]!r} must be 1-64 characters, no control ones")
        return value


class StatsSerializer(serializers.Serializer[dict]):
    """Requests since the previous post, per endpoint: the portal turns them into rps and percentiles."""

    time = serializers.DateTimeField(required=False, help_text="End of the interval; default: now.")
    interval = serializers.FloatField(min_value=0.1, max_value=3600, help_text="Seconds the counts cover.")
    users = serializers.IntegerField(min_value=0, max_value=100_000_000, required=False)
    entries = serializers.ListField(child=LocustEntrySerializer(), max_length=MAX_ENTRIES, default=list)
    total = LocustEntrySerializer(required=False, help_text="All endpoints together (Locust's Aggregated row).")

    def validate_entries(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _unique_entries(value)


class CommitSerializer(serializers.Serializer[dict]):
    ended_at = serializers.DateTimeField(required=False)
    # A CharField, not a ChoiceField: the schema's enums are named by field, and devices' `state` holds others.
    state = serializers.CharField(default=LoadTestRun.State.COMPLETED, help_text="completed (default) or failed")
    exit_code = serializers.IntegerField(min_value=-255, max_value=255, required=False, allow_null=True)
    duration = serializers.FloatField(
        min_value=0, max_value=1e8, required=False, allow_null=True, help_text="Seconds from first to last request."
    )
    users = serializers.IntegerField(min_value=0, max_value=100_000_000, required=False)
    entries = serializers.ListField(child=LocustEntrySerializer(), max_length=MAX_ENTRIES)
    total = LocustEntrySerializer(required=False, help_text="Locust's Aggregated row; default: the entries merged.")

    def validate_entries(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _unique_entries(value)

    def validate_state(self, value: str) -> str:
        if value not in (LoadTestRun.State.COMPLETED, LoadTestRun.State.FAILED):
            raise serializers.ValidationError(f"{value[:40]!r} is not 'completed' or 'failed'")
        return value


class CreatedSerializer(serializers.Serializer[dict]):
    uuid = serializers.UUIDField()


class EndpointStatsSerializer(serializers.Serializer[dict]):
    name = serializers.CharField()
    method = serializers.CharField(allow_blank=True)
    requests = serializers.IntegerField()
    failures = serializers.IntegerField()
    fail_ratio = serializers.FloatField()
    rps = serializers.FloatField(allow_null=True)
    fail_rps = serializers.FloatField(allow_null=True)
    avg = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    p50 = serializers.IntegerField(allow_null=True)
    p95 = serializers.IntegerField(allow_null=True)
    p99 = serializers.IntegerField(allow_null=True)
    response_times = serializers.DictField(child=serializers.IntegerField())


class CheckResultSerializer(serializers.Serializer[dict]):
    check = serializers.CharField()
    metric = serializers.CharField()
    regression = serializers.BooleanField()
    op = serializers.CharField()
    threshold = serializers.FloatField()
    actual = serializers.FloatField(allow_null=True, required=False)
    passed = serializers.BooleanField(allow_null=True, required=False)
    reason = serializers.CharField(allow_blank=True, required=False)


class RunSerializer(serializers.ModelSerializer[LoadTestRun]):
    state = serializers.CharField(read_only=True, help_text="running, completed, failed or abandoned")
    compared_to = serializers.UUIDField(source="compared_to.uuid", allow_null=True, default=None)
    url = serializers.SerializerMethodField()

    class Meta:
        model = LoadTestRun
        fields = [
            "uuid",
            "state",
            "plan",
            "started_at",
            "ended_at",
            "last_report_at",
            "target_host",
            "host",
            "mode",
            "users",
            "spawn_rate",
            "description",
            "tags",
            "locust_version",
            "requests",
            "failures",
            "exit_code",
            "is_baseline",
            "compared_to",
            "checks",
            "url",
        ]

    def get_url(self, run: LoadTestRun) -> str:
        """The run's page, from PUBLIC_URL (design decision 7)."""
        from django.conf import settings

        return f"{settings.PUBLIC_URL.rstrip('/')}/o/{run.organization.slug}/loadtests/{run.uuid}/"


class SeriesSerializer(serializers.Serializer[dict]):
    name = serializers.CharField()
    method = serializers.CharField(allow_blank=True)
    time = serializers.ListField(child=serializers.DateTimeField())
    rps = serializers.ListField(child=serializers.FloatField(allow_null=True))
    fail_rps = serializers.ListField(child=serializers.FloatField(allow_null=True))
    p50 = serializers.ListField(child=serializers.FloatField(allow_null=True))
    p95 = serializers.ListField(child=serializers.FloatField(allow_null=True))
    p99 = serializers.ListField(child=serializers.FloatField(allow_null=True))
    users = serializers.ListField(child=serializers.FloatField(allow_null=True))


class RunDetailSerializer(RunSerializer):
    stats = EndpointStatsSerializer(many=True)
    series = SeriesSerializer(many=True, read_only=True, source="series_rows")
    raw_stats = serializers.JSONField(allow_null=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "stats", "series", "raw_stats"]


class CommitAnswerSerializer(serializers.Serializer[dict]):
    uuid = serializers.UUIDField()
    state = serializers.CharField()
    requests = serializers.IntegerField()
    failures = serializers.IntegerField()
    checks = CheckResultSerializer(many=True)
    failed_checks = serializers.ListField(child=serializers.CharField())
    compared_to = serializers.UUIDField(allow_null=True)
    url = serializers.CharField()


class CompareRowSerializer(serializers.Serializer[dict]):
    name = serializers.CharField()
    method = serializers.CharField(allow_blank=True)
    run = serializers.DictField(allow_null=True)
    to = serializers.DictField(allow_null=True)
    change_pct = serializers.DictField(child=serializers.FloatField(allow_null=True))


class CompareSerializer(serializers.Serializer[dict]):
    run = serializers.UUIDField()
    to = serializers.UUIDField()
    plan = serializers.CharField()
    endpoints = CompareRowSerializer(many=True)
    verdict = serializers.DictField(allow_null=True)
