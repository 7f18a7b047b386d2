"""What the quota fault tests share: waiting on a condition with the processes' logs, and counting.

Counting reads the rows and points other processes wrote: usage per period and the sum of every stored
`kong_bandwidth` point.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from quotas.models import GatewayService, UsagePeriod
from tests.celery_fixtures import CeleryProcess
from timeseries import get_store, reset_store


def wait_for(condition: Callable[[], object], timeout: float, what: str, *processes: CeleryProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.role} {p.log_path.name}\n{p.log()[-4000:]}" for p in processes)
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(0.2)


def usage(service: GatewayService) -> list[tuple[int, int]]:
    """(ingress, egress) of every period row of the service, longest period first."""
    rows = UsagePeriod.objects.filter(service=service).order_by("start", "-end")
    return [(row.ingress_bytes, row.egress_bytes) for row in rows]


def stored_bytes(organization_id: int) -> int:
    """The sum of every kong_bandwidth point of the org in the store (each point is one scrape's delta)."""
    reset_store()
    now = datetime.now(UTC)
    series = get_store().query(
        tenant=str(organization_id),
        measurement="kong_bandwidth",
        fields=["bytes"],
        start=now - timedelta(days=2),
        end=now + timedelta(minutes=1),
        group_by=("service", "route", "direction", "target"),
    )
    return int(sum(value for result in series for _, value in result.points))


def pool_children(worker: CeleryProcess) -> list[int]:
    """The prefork pool's child processes of a worker (they run the tasks)."""
    pid = worker.process.pid
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except FileNotFoundError:
        return []


def kill_pool_child(worker: CeleryProcess) -> int:
    """SIGKILL the worker's (only) pool child: the main process sees WorkerLostError and requeues the task."""
    [child] = pool_children(worker)
    os.kill(child, signal.SIGKILL)
    return child
