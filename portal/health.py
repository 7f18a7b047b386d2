"""Liveness and readiness probes.

`/health` does no I/O so an orchestrator can tell a wedged process from a
slow dependency; `/health/ready` checks every dependency with its latency.
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


def check_broker() -> None:
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def run_checks(names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run the configured checks; never raises. Errors name the exception, not secrets."""
    results: dict[str, dict[str, Any]] = {}
    for name, path in settings.HEALTH_CHECKS.items():
        if names is not None and name not in names:
            continue
        check: Callable[[], None] = import_string(path)
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; report, don't crash
            results[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            results[name] = {"status": "ok"}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return results


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok", "version": __version__})


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    failed = sorted(name for name, result in checks.items() if result["status"] != "ok")
    body = {"status": "ok" if not failed else "error", "failed": failed, "checks": checks}
    return JsonResponse(body, status=200 if not failed else 503)
