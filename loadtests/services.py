"""Every write of a load-test run: register, periodic stats (→ the store), commit, baseline, abandonment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Organization
from loadtests import checks, histogram
from loadtests.models import LoadTestRun
from loadtests.series import MEASUREMENT, TOTAL_NAME, run_series_query
from portal.api.errors import Conflict, InvalidRequest, Unavailable
from portal.logging import store_outage
from timeseries import Point, StoreError, StoreUnavailable, get_store

TOTAL = TOTAL_NAME
# A baseline keeps at most one point per this many seconds per endpoint in the database.
BASELINE_STEP_SECONDS = 10


def run_register(
    *,
    organization: Organization,
    api_key: ApiKey | None,
    plan: str = "default",
    target_host: str = "",
    host: str = "",
    mode: str = LoadTestRun.Mode.SINGLE,
    users: int = 0,
    spawn_rate: float = 0,
    description: str = "",
    tags: dict[str, str] | None = None,
    check_expressions: list[str] | None = None,
    started_at: datetime | None = None,
    locust_version: str = "",
) -> LoadTestRun:
    parsed = checks.parse(check_expressions or [])
    now = timezone.now()
    return LoadTestRun.objects.create(
        organization=organization,
        api_key=api_key,
        plan=plan,
        target_host=target_host,
        host=host,
        mode=mode,
        users=users,
        spawn_rate=spawn_rate,
        description=description,
        tags=tags or {},
        checks=parsed,
        started_at=started_at or now,
        last_report_at=now,
        locust_version=locust_version,
    )


def _entry_point(run: LoadTestRun, entry: dict[str, Any], interval: float, time_ns: int, name: str) -> Point | None:
    fields: dict[str, float] = {
        "rps": round(entry["num_requests"] / interval, 3),
        "fail_rps": round(entry["num_failures"] / interval, 3),
    }
    for key, value in histogram.percentiles(entry["response_times"]).items():
        if value is not None:
            fields[key] = float(value)
    tags = {"run": str(run.uuid), "name": name}
    if entry.get("method"):
        tags["method"] = entry["method"]
    return Point(measurement=MEASUREMENT, tags=tags, fields=fields, time_ns=time_ns)


def run_stats_record(
    *,
    run: LoadTestRun,
    interval: float,
    entries: list[dict[str, Any]],
    total: dict[str, Any] | None = None,
    users: int | None = None,
    time: datetime | None = None,
) -> int:
    """One report during the run: per endpoint rps, fail_rps and p50/p95/p99 of the interval's histogram, and
    the aggregated row with the user count, as points of measurement `locust`. Returns the points written."""
    if run.finished:
        raise Conflict(f"run {run.uuid} is already {run.state}; stats are taken only while it runs")
    now = timezone.now()
    at = time or now
    time_ns = int(at.timestamp() * 1_000_000_000)
    points = [p for e in entries if (p := _entry_point(run, e, interval, time_ns, e["name"]))]
    if total is None and entries:
        total = {
            "num_requests": sum(e["num_requests"] for e in entries),
            "num_failures": sum(e["num_failures"] for e in entries),
            "response_times": histogram.merge([e["response_times"] for e in entries]),
        }
    aggregated = _entry_point(
        run,
        {**(total or {"num_requests": 0, "num_failures": 0, "response_times": {}}), "method": ""},
        interval,
        time_ns,
        TOTAL,
    )
    if aggregated is not None:
        fields = dict(aggregated.fields)
        if users is not None:
            fields["users"] = float(users)
        points.append(Point(measurement=MEASUREMENT, tags=aggregated.tags, fields=fields, time_ns=time_ns))
    _store_write(run.organization_id, points)
    # A run marked abandoned while the portal or the network was away comes back when it reports again.
    LoadTestRun.objects.filter(pk=run.pk, state__in=[LoadTestRun.State.RUNNING, LoadTestRun.State.ABANDONED]).update(
        last_report_at=now, state=LoadTestRun.State.RUNNING, ended_at=None
    )
    return len(points)


def _store_write(organization_id: int, points: list[Point]) -> None:
    try:
        get_store().write(tenant=str(organization_id), points=points)
    except StoreUnavailable as exc:
        store_outage.down(exc)
        raise Unavailable(
            "the time-series store is unavailable; nothing was written, retry later",
            retry_after=settings.INGEST_RETRY_AFTER_SECONDS,
        ) from None
    except StoreError as exc:
        raise InvalidRequest(f"{exc.reason[:400]} (nothing was written)") from None
    store_outage.up()


@dataclass
class CommitResult:
    run: LoadTestRun
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[str]:
        return checks.failed(self.checks)


def final_rows(
    entries: list[dict[str, Any]], total: dict[str, Any] | None, duration: float | None
) -> list[dict[str, Any]]:
    """The aggregated row first (Locust's `Aggregated`), then each endpoint by name and method."""
    if total is None:
        total = {
            "num_requests": sum(e["num_requests"] for e in entries),
            "num_failures": sum(e["num_failures"] for e in entries),
            "num_none_requests": sum(e.get("num_none_requests", 0) for e in entries),
            "response_times": histogram.merge([e["response_times"] for e in entries]),
        }
        if entries and all("total_response_time" in e for e in entries):
            total["total_response_time"] = sum(e["total_response_time"] for e in entries)
        mins = [e["min_response_time"] for e in entries if e.get("min_response_time") is not None]
        maxes = [e["max_response_time"] for e in entries if e.get("max_response_time") is not None]
        total["min_response_time"] = min(mins) if mins else None
        total["max_response_time"] = max(maxes) if maxes else None
        starts = [e["start_time"] for e in entries if e.get("start_time")]
        lasts = [e["last_request_timestamp"] for e in entries if e.get("last_request_timestamp")]
        if starts and lasts:
            total["start_time"], total["last_request_timestamp"] = min(starts), max(lasts)
    if duration is None:
        duration = histogram._duration(total)
    rows = [histogram.summary({**total, "name": TOTAL, "method": ""}, duration)]
    rows += [histogram.summary(e, duration) for e in sorted(entries, key=lambda e: (e["name"], e["method"]))]
    return rows


def run_commit(
    *,
    run: LoadTestRun,
    entries: list[dict[str, Any]],
    total: dict[str, Any] | None = None,
    duration: float | None = None,
    exit_code: int | None = None,
    state: str = LoadTestRun.State.COMPLETED,
    ended_at: datetime | None = None,
    users: int | None = None,
    raw_stats: Any = None,
    rows: list[dict[str, Any]] | None = None,
) -> CommitResult:
    """Final results: completes the run once (a second commit is a 409 that changes nothing), evaluates its
    checks against the plan's baseline and records each result."""
    if rows is None:
        rows = final_rows(entries, total, duration)
    with transaction.atomic():
        locked = LoadTestRun.objects.select_for_update().select_related("organization").get(pk=run.pk)
        if locked.finished:
            raise Conflict(
                f"run {locked.uuid} is already {locked.state} (committed at {locked.ended_at:%Y-%m-%dT%H:%M:%SZ})"
            )
        baseline = (
            LoadTestRun.objects.filter(organization_id=locked.organization_id, plan=locked.plan, is_baseline=True)
            .exclude(pk=locked.pk)
            .first()
        )
        results = checks.evaluate(locked.checks, rows[0], baseline.stats[0] if baseline and baseline.stats else None)
        now = timezone.now()
        locked.stats = rows
        locked.raw_stats = raw_stats
        locked.requests = rows[0]["requests"]
        locked.failures = rows[0]["failures"]
        locked.exit_code = exit_code
        locked.state = state
        locked.ended_at = ended_at or now
        locked.last_report_at = now
        locked.checks = results
        locked.compared_to = baseline
        if users is not None and not locked.users:
            locked.users = users
        locked.save()
    return CommitResult(run=locked, checks=results)


def run_pin_baseline(*, run: LoadTestRun) -> LoadTestRun:
    """Make a completed run its plan's baseline (one per plan: the previous one is unpinned), keeping a copy of
    its stats series in the database at 10 s resolution."""
    if run.state != LoadTestRun.State.COMPLETED:
        raise Conflict(f"only a completed run can be a baseline; run {run.uuid} is {run.state}")
    copy = run_series_query(run=run, step=timedelta(seconds=BASELINE_STEP_SECONDS))
    with transaction.atomic():
        LoadTestRun.objects.select_for_update().filter(organization_id=run.organization_id, plan=run.plan).exclude(
            pk=run.pk
        ).filter(is_baseline=True).update(is_baseline=False)
        LoadTestRun.objects.filter(pk=run.pk).update(is_baseline=True, baseline_series=copy)
    run.refresh_from_db()
    return run


def runs_abandon_stale(*, now: datetime | None = None) -> int:
    """Running runs silent for LOADTEST_ABANDON_AFTER seconds become `abandoned` (ended at their last report);
    one conditional UPDATE, so two beats or workers never disagree."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.LOADTEST_ABANDON_AFTER)
    stale = LoadTestRun.objects.filter(state=LoadTestRun.State.RUNNING, last_report_at__lt=cutoff)
    count = 0
    for pk, last in stale.values_list("pk", "last_report_at"):
        count += LoadTestRun.objects.filter(pk=pk, state=LoadTestRun.State.RUNNING, last_report_at=last).update(
            state=LoadTestRun.State.ABANDONED, ended_at=last
        )
    return count
