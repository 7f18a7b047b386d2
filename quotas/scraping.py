"""Scraping one target: read it, then count what changed since the last reading exactly once.

The HTTP read happens outside any transaction; the counting happens in one transaction that locks the
target row first. Two scrapes of the same node (a retried task, two beats, `manage.py scrape` while the
worker runs) therefore serialise on that lock, and the second computes its deltas against the
snapshot the first committed: the same reading twice adds nothing.

The quotas those bytes moved are evaluated inside that same transaction, so the usage and the notification
it calls for commit together: a worker killed (or a statement timed out) between the two would otherwise
leave the bytes counted and the notification never created, since the re-run counts nothing new and so
evaluates nothing (tests/quotas/test_worker_killed.py).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.api import opsmetrics
from quotas import evaluation, sources
from quotas.counters import counter_deltas
from quotas.kong import ExpositionError, parse_bandwidth
from quotas.models import CounterSnapshot, ScrapeTarget
from quotas.usage import Delta, add_usage, store_points
from timeseries import StoreError, StoreUnavailable

logger = logging.getLogger(__name__)
# A 10 s beat tick must not skip a 60 s target because it runs a moment early.
_SLACK = timedelta(seconds=1)


@dataclass(slots=True)
class ScrapeResult:
    target_id: int
    ok: bool
    error: str = ""
    series: int = 0  # counters read (exporter) or window samples (prometheus)
    baselines: int = 0
    resets: int = 0
    rejected: int = 0
    bytes_counted: int = 0
    points_written: int = 0
    service_ids: set[int] = field(default_factory=set)
    crossings: list[evaluation.Crossing] = field(default_factory=list)

    def summary(self) -> str:
        if not self.ok:
            return f"error: {self.error}"
        return (
            f"{self.series} series, {self.bytes_counted} bytes counted, {self.baselines} new (baseline), "
            f"{self.resets} reset(s), {self.rejected} rejected"
        )


def _record_outcome(target_id: int, now: datetime, error: str) -> None:
    """Store the outcome on the target; log only when it changes (a dead node does not flood the log)."""
    previous = ScrapeTarget.objects.filter(id=target_id).values_list("last_error", flat=True).first()
    update: dict[str, object] = {"last_scrape_at": now, "last_error": error[:2000]}
    if not error:
        update["last_success_at"] = now
    ScrapeTarget.objects.filter(id=target_id).update(**update)
    if previous is None or previous == error:
        return
    if error:
        logger.warning("scrape target %s failing: %s", target_id, error, extra={"target_id": target_id})
    else:
        logger.info("scrape target %s recovered", target_id, extra={"target_id": target_id})


def scrape_target(target_id: int, *, now: datetime | None = None) -> ScrapeResult:
    """Scrape one target (enabled or not: an admin's "scrape now" may test a disabled one)."""
    now = now or timezone.now()
    target = ScrapeTarget.objects.get(id=target_id)
    result = ScrapeResult(target_id=target_id, ok=True)
    outcome, started = "ok", time.perf_counter()
    try:
        if target.kind == ScrapeTarget.Kind.PROMETHEUS:
            _scrape_prometheus(target, now, result)
        else:
            _scrape_exporter(target, now, result)
    except sources.ScrapeFailed as exc:
        result.ok, result.error, outcome = False, str(exc), "unreachable"
    except ExpositionError as exc:
        result.ok, result.error, outcome = False, str(exc), "invalid"
    except StoreError as exc:  # nothing was committed: the next scrape counts these bytes
        result.ok, result.error, outcome = False, f"time-series store: {exc}", "store_error"
        opsmetrics.STORE_ERRORS.labels("unavailable" if isinstance(exc, StoreUnavailable) else "refused").inc()
    opsmetrics.SCRAPES.labels(target.kind, outcome).inc()
    opsmetrics.SCRAPE_DURATION.labels(target.kind).observe(time.perf_counter() - started)
    _record_outcome(target_id, now, result.error)
    return result


def _scrape_exporter(target: ScrapeTarget, now: datetime, result: ScrapeResult) -> None:
    exposition_apply(target, sources.fetch_exposition(target), now=now, result=result)


def exposition_apply(target: ScrapeTarget, text: str, *, now: datetime, result: ScrapeResult) -> None:
    """Parse one reading of a node and count it (the part of a scrape after the HTTP GET; bench/scrape.py)."""
    parsed = parse_bandwidth(
        text, max_series=settings.SCRAPE_MAX_SERIES, max_label_length=settings.SCRAPE_MAX_LABEL_LENGTH
    )
    result.series, result.rejected = len(parsed.samples), parsed.rejected
    with transaction.atomic():
        ScrapeTarget.objects.select_for_update().filter(id=target.id).first()
        snapshot, _ = CounterSnapshot.objects.select_for_update().get_or_create(target_id=target.id)
        computed = counter_deltas(snapshot.counters, parsed.samples)
        deltas = [Delta(now, s, r, d, v) for (s, r, d), v in computed.by_series.items()]
        result.baselines, result.resets = computed.baselines, computed.resets
        _count(target, deltas, result, now)
        counters = computed.snapshot
        if len(counters) > 2 * settings.SCRAPE_MAX_SERIES:  # vanished series are kept, within reason
            counters = {key: sample.value for key, sample in parsed.samples.items()}
        snapshot.counters, snapshot.taken_at = counters, now
        snapshot.save(update_fields=["counters", "taken_at"])


def _window_step(target: ScrapeTarget) -> int:
    return max(1, int(target.interval_seconds))


def _aligned(moment: datetime, step: int) -> datetime:
    return datetime.fromtimestamp(math.floor(moment.timestamp() / step) * step, tz=UTC)


def _scrape_prometheus(target: ScrapeTarget, now: datetime, result: ScrapeResult) -> None:
    """Windows of `interval_seconds` aligned to the epoch, each counted once: `window_end` is the cursor."""
    step = _window_step(target)
    # Leave one step for Prometheus to have scraped the window's last samples.
    upto = _aligned(now, step) - timedelta(seconds=step)
    cursor = target.window_end
    if cursor is None:  # first scrape: a baseline, as for a node's first reading
        ScrapeTarget.objects.filter(id=target.id, window_end__isnull=True).update(window_end=upto)
        return
    # Never ask for more than a day at once; older gaps are skipped (Prometheus may no longer have them).
    start = max(cursor, upto - timedelta(days=1))
    if upto <= start:
        return
    samples = sources.fetch_increase(target, start=start + timedelta(seconds=step), end=upto, step=step)
    result.series = len(samples)
    with transaction.atomic():
        locked = ScrapeTarget.objects.select_for_update().get(id=target.id)
        if locked.window_end != cursor:  # another scrape counted these windows meanwhile
            return
        _count(target, [Delta(s.time, s.service, s.route, s.direction, s.value) for s in samples], result, now)
        ScrapeTarget.objects.filter(id=target.id).update(window_end=upto)


def _count(target: ScrapeTarget, deltas: list[Delta], result: ScrapeResult, now: datetime) -> None:
    result.bytes_counted = sum(d.value for d in deltas)
    result.points_written = store_points(organization_id=target.organization_id, target_id=target.id, deltas=deltas)
    result.service_ids = set(add_usage(organization_id=target.organization_id, deltas=deltas))
    if not result.service_ids:
        return
    try:
        with transaction.atomic():  # a savepoint: a failed evaluation leaves the counting intact
            result.crossings = evaluation.evaluate_quotas(service_ids=result.service_ids, now=now)
    except DatabaseError:
        raise  # roll the counting back too: the next scrape counts these bytes and evaluates again
    except Exception:  # e.g. a recipient refused by validation: never stop the bytes being counted
        logger.exception("quota evaluation failed after scraping target %s", target.id)


def targets_claim_due(*, now: datetime | None = None) -> list[int]:
    """Enabled targets whose next scrape is due, each claimed by moving `next_scrape_at` one interval on.

    The claim is a conditional UPDATE on the value just read: with two beats (or two workers running
    scrape_due) each target is claimed, and so enqueued, by one of them only.
    """
    now = now or timezone.now()
    due = ScrapeTarget.objects.filter(enabled=True).filter(
        Q(next_scrape_at__isnull=True) | Q(next_scrape_at__lte=now + _SLACK)
    )
    claimed = []
    for target_id, scheduled, interval in due.values_list("id", "next_scrape_at", "interval_seconds"):
        won = ScrapeTarget.objects.filter(id=target_id, next_scrape_at=scheduled).update(
            next_scrape_at=now + timedelta(seconds=interval)
        )
        if won:
            claimed.append(target_id)
    return claimed
