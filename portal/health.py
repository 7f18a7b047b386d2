"""Liveness and readiness probes.

`/health` does no I/O so an orchestrator can tell a wedged process from a
slow dependency; `/health/ready` checks every dependency with its latency.

A check is a callable that raises on failure (→ 503). It may return a dict of details to report, or
raise `Degraded` for a problem worth reporting that must not take the web tier out of the load
balancer (a stale beat: the portal serves requests fine, only periodic work is late).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET

from portal import __version__


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    probe = f"health:{uuid.uuid4().hex}"
    cache.set(probe, "1", timeout=5)
    if cache.get(probe) != "1":
        raise RuntimeError("value written to the cache could not be read back")
    cache.delete(probe)


class Degraded(Exception):
    """Raised by a check whose dependency is late or missing but not needed to serve requests."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


def check_broker() -> dict[str, Any]:
    from kombu import Connection

    url = settings.CELERY_BROKER_URL
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    with Connection(url, connect_timeout=2, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0.2, interval_step=0.2, timeout=2)
        # The scheme only (redis, filesystem): the URL may carry a password.
        return {"transport": url.split("://", 1)[0]}


def check_beat() -> dict[str, Any]:
    """Age of beat's last tick: the newest last_run_at django-celery-beat saved on any schedule row.

    Beat sends `portal.beat_heartbeat` every BEAT_HEARTBEAT_SECONDS and saves the row at once
    (CELERY_BEAT_SYNC_EVERY=1), so an age above BEAT_STALE_SECONDS means no beat is running.
    """
    from django.db.models import Max
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    last_tick = PeriodicTask.objects.aggregate(last=Max("last_run_at"))["last"]
    if last_tick is None:
        raise Degraded("beat has never run (start `celery -A portal beat`)", last_tick=None, age_seconds=None)
    age = round((timezone.now() - last_tick).total_seconds(), 1)
    details = {
        "last_tick": last_tick.isoformat(),
        "age_seconds": age,
        "stale_after_seconds": settings.BEAT_STALE_SECONDS,
    }
    if age > settings.BEAT_STALE_SECONDS:
        raise Degraded(f"beat's last tick was {age:.0f}s ago (is `celery -A portal beat` running?)", **details)
    return details


def run_checks(names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run the configured checks; never raises. Status ok | degraded | error; errors name the exception."""
    results: dict[str, dict[str, Any]] = {}
    for name, path in settings.HEALTH_CHECKS.items():
        if names is not None and name not in names:
            continue
        check: Callable[[], dict[str, Any] | None] = import_string(path)
        started = time.perf_counter()
        try:
            details = check()
        except Degraded as exc:
            results[name] = {"status": "degraded", "error": str(exc)[:300], **exc.details}
        except Exception as exc:  # any failure means "not ready"; report, don't crash
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            results[name] = {"status": "ok", **(details or {})}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return results


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "version": __version__})


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    failed = sorted(name for name, result in checks.items() if result["status"] == "error")
    degraded = sorted(name for name, result in checks.items() if result["status"] == "degraded")
    status = "error" if failed else "degraded" if degraded else "ok"
    body = {"status": status, "failed": failed, "degraded": degraded, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)
