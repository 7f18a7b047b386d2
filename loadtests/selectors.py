"""Reads of load-test runs, always given the organization."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import Organization
from loadtests import checks
from loadtests.models import LoadTestRun
from loadtests.series import run_series_query
from portal.api.errors import InvalidRequest, NotFound

COMPARED = ("requests", "fail_ratio", "rps", "p50", "p95", "p99")


def run_list(*, organization: Organization, state: str | None = None, plan: str | None = None) -> QuerySet[LoadTestRun]:
    runs = LoadTestRun.objects.filter(organization=organization).select_related("organization", "compared_to")
    if state:
        runs = runs.filter(state=state)
    if plan:
        runs = runs.filter(plan=plan)
    return runs.order_by("-started_at", "-id")  # stable: id breaks ties


def run_get(*, organization: Organization, uuid: uuid_module.UUID | str) -> LoadTestRun:
    run = (
        LoadTestRun.objects.filter(organization=organization, uuid=uuid)
        .select_related("organization", "compared_to")
        .first()
    )
    if run is None:
        raise NotFound(f"no load-test run {uuid} in this organization")
    return run


def run_baseline(*, organization: Organization, plan: str) -> LoadTestRun | None:
    return LoadTestRun.objects.filter(organization=organization, plan=plan, is_baseline=True).first()


def run_series(*, run: LoadTestRun) -> list[dict[str, Any]]:
    """The run's stats series; a baseline's from its own copy, which store retention cannot delete."""
    if run.is_baseline and run.baseline_series is not None:
        return list(run.baseline_series)
    return run_series_query(run=run)


def _pct(value: Any, base: Any) -> float | None:
    if value is None or base is None:
        return None
    if base == 0:
        return 0.0 if value == 0 else None
    return round((value - base) / base * 100, 2)


def run_compare(*, organization: Organization, run: LoadTestRun, to: str) -> dict[str, Any]:
    """Per endpoint (aggregated first) both runs' numbers and the change in %, plus the checks' verdict."""
    if to == "baseline":
        other = run_baseline(organization=organization, plan=run.plan)
        if other is None:
            raise NotFound(f"plan {run.plan!r} has no baseline; pin one with POST /api/v1/loadtests/<uuid>/baseline")
    else:
        try:
            other = run_get(organization=organization, uuid=uuid_module.UUID(to))
        except ValueError:
            raise InvalidRequest(f"parameter 'to': {to[:64]!r} is neither 'baseline' nor a run's uuid") from None
        if other.plan != run.plan:
            raise InvalidRequest(
                f"parameter 'to': run {other.uuid} belongs to plan {other.plan!r}, not {run.plan!r}; "
                "runs are compared only within a plan"
            )
    for which in (run, other):
        if not which.stats:
            raise InvalidRequest(f"run {which.uuid} has no final stats yet (state {which.state}); commit it first")
    mine = {(r["name"], r["method"]): r for r in run.stats}
    theirs = {(r["name"], r["method"]): r for r in other.stats}
    keys = list(mine) + [k for k in theirs if k not in mine]
    endpoints = []
    for key in keys:
        a, b = mine.get(key), theirs.get(key)
        endpoints.append(
            {
                "name": key[0],
                "method": key[1],
                "run": {m: a[m] for m in COMPARED} if a else None,
                "to": {m: b[m] for m in COMPARED} if b else None,
                "change_pct": {m: _pct(a[m], b[m]) if a and b else None for m in COMPARED},
            }
        )
    verdict = None
    if run.checks:
        results = checks.evaluate(run.checks, run.stats[0], other.stats[0])
        verdict = {"passed": not checks.failed(results), "checks": results}
    return {"run": run.uuid, "to": other.uuid, "plan": run.plan, "endpoints": endpoints, "verdict": verdict}


def runs_overlapping(*, organization: Organization, start: datetime, end: datetime) -> QuerySet[LoadTestRun]:
    """Runs whose window [started_at, ended_at or now] meets [start, end)."""
    return (
        LoadTestRun.objects.filter(organization=organization, started_at__lt=end)
        .filter(Q(ended_at__gte=start) | Q(ended_at__isnull=True))
        .select_related("organization")
        .order_by("started_at", "id")
    )


def running_now(*, organization: Organization) -> QuerySet[LoadTestRun]:
    return run_list(organization=organization, state=LoadTestRun.State.RUNNING)
