"""Beacon's own metrics for its operators: `GET /-/metrics` (Prometheus text), bearer `OPS_METRICS_TOKEN`.

Never tenant data: labels are route templates, statuses, task names, channels and outcomes, all bounded
sets; no path, slug, device or key ever becomes a label. Counting is always on (an increment is a few
microseconds); the endpoint answers 404 until a token is set.

Under gunicorn every worker counts into its own files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's
multiprocess mode, chosen by that variable at import); the scrape merges them, plus the Celery worker's
directory (`OPS_METRICS_WORKER_DIR`) when it shares this host or a volume. gunicorn.conf.py wipes the
directory at start and marks dead workers; `wipe_multiprocess_dir` does the same for the Celery worker.
Without the variable (runserver, the demo, tests in process) the counters live in this process.
See docs/operations.md "Beacon's own metrics".
"""

from __future__ import annotations

import glob
import hmac
import os
import shutil
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the Celery worker imports this before worker_init wipes it
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# A registry of our own, never the default one, so nothing here can show up on a tenant's /metrics.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "beacon_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "beacon_http_request_duration_seconds",
    "Time from the first middleware to the answer, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
INGEST_POINTS = Counter(
    "beacon_ingest_points", "Points of write requests, stored or rejected.", ["outcome"], registry=REGISTRY
)
INGEST_BATCHES = Counter(
    "beacon_ingest_batches",
    "Write requests (batches): stored, or rejected with the answer's error code.",
    ["outcome"],
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "beacon_store_errors",
    "Time-series store errors: unavailable (503 to the writer) or refused (the store rejected a point).",
    ["kind"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "beacon_rate_limited", "Requests answered 429, by budget (key or anonymous IP).", ["budget"], registry=REGISTRY
)
CELERY_TASKS = Counter(
    "beacon_celery_tasks", "Celery task outcomes, by task name.", ["task", "outcome"], registry=REGISTRY
)
SCRAPES = Counter(
    "beacon_scrapes", "Gateway scrapes by source kind and outcome.", ["kind", "outcome"], registry=REGISTRY
)
SCRAPE_DURATION = Histogram(
    "beacon_scrape_duration_seconds",
    "Duration of one gateway scrape, by source kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "beacon_notification_deliveries",
    "Notification delivery attempts, by channel and result (sent, retry, failed).",
    ["channel", "outcome"],
    registry=REGISTRY,
)

# Known label values start at 0, so a rate over them is 0 rather than no data until the first event.
# The push path's children are kept: `.labels()` is a locked dict lookup, measurable per request.
POINTS_STORED, POINTS_REJECTED = INGEST_POINTS.labels("stored"), INGEST_POINTS.labels("rejected")
BATCHES_STORED = INGEST_BATCHES.labels("stored")
for _kind in ("unavailable", "refused"):
    STORE_ERRORS.labels(_kind)
for _budget in ("key", "anonymous"):
    RATE_LIMITED.labels(_budget)
for _kind in ("exporter", "prometheus"):
    SCRAPES.labels(_kind, "ok")
    SCRAPE_DURATION.labels(_kind)
for _channel in ("email", "webhook"):
    for _outcome in ("sent", "retry", "failed"):
        DELIVERIES.labels(_channel, _outcome)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # no URL pattern: one label for every unknown path, never the path itself


class MetricsMiddleware:
    """Counts every request by route template and status and observes its latency; nothing else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        method = request.method if request.method in _METHODS else "other"  # any verb may arrive: bound it
        key = (match.route if match is not None else None, method, response.status_code)
        children = _CHILDREN.get(key)
        if children is None:
            children = _CHILDREN[key] = _children(*key)
        children[0].inc()
        children[1].observe(time.perf_counter() - started)
        return response


# (route, method, status) → (request counter, latency histogram) children; bounded like the labels.
_CHILDREN: dict[tuple[str | None, str, int], tuple[Any, Any]] = {}


def _children(route: str | None, method: str, status: int) -> tuple[Any, Any]:
    template = "/" + route if route is not None else UNMATCHED
    return REQUESTS.labels(template, method, str(status)), LATENCY.labels(template)


def _error(status: int, code: str, message: str) -> HttpResponse:
    response = JsonResponse({"code": code, "message": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="beacon-ops"'
    return response


class _MergedDirs(Collector):
    """prometheus_client's multiprocess merge over several directories (the web's, the Celery worker's)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = [p for p in paths if p]

    def collect(self) -> Iterable[Any]:
        # Recursive: compose gives each worker container a directory of its own under the worker dir.
        files = [f for path in self.paths for f in glob.glob(os.path.join(path, "**", "*.db"), recursive=True)]
        return MultiProcessCollector.merge(files, accumulate=True)


class _QueueDepth(Collector):
    """Messages waiting in Celery's default queue, asked of the broker at scrape time (not counted by any
    process, so not a multiprocess metric); `beacon_celery_broker_up` 0 and no depth when it does not answer."""

    def collect(self) -> Iterable[Any]:
        from kombu import Connection

        up = GaugeMetricFamily("beacon_celery_broker_up", "1 when the Celery broker answered this scrape.")
        depth = GaugeMetricFamily("beacon_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"])
        queue = "celery"  # the default queue, the only one Beacon routes to
        try:
            options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
            with Connection(settings.CELERY_BROKER_URL, connect_timeout=2, transport_options=options) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0.2, interval_step=0.2, timeout=2)
                try:
                    count = conn.default_channel.queue_declare(queue=queue, passive=True).message_count
                except conn.channel_errors:  # never declared: no worker ever ran, nothing is queued
                    count = 0
        except Exception:  # the broker is down or frozen: say so, never fail the scrape
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        depth.add_metric([queue], count)
        yield up
        yield depth


def exposition() -> bytes:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    registry = CollectorRegistry()
    if directory:
        registry.register(_MergedDirs([directory, settings.OPS_METRICS_WORKER_DIR]))
    else:
        registry.register(_Registered())
    registry.register(_QueueDepth())
    return generate_latest(registry)


class _Registered(Collector):
    """This process's own counters (no multiprocess directory)."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /-/metrics` with `Authorization: Bearer <OPS_METRICS_TOKEN>`."""
    token = settings.OPS_METRICS_TOKEN
    if not token:
        return _error(404, "not_found", "Beacon's own metrics are off; set OPS_METRICS_TOKEN to serve them.")
    if request.method not in ("GET", "HEAD"):
        return _error(405, "method_not_allowed", f"method {request.method} not allowed; use GET")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _error(401, "unauthorized", "send Authorization: Bearer <OPS_METRICS_TOKEN>")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)  # what every Prometheus 2.x parses


def wipe_multiprocess_dir() -> None:
    """Empty (or create) PROMETHEUS_MULTIPROC_DIR before any process of a server counts into it: files
    from a previous run would otherwise be merged into this run's counters."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def connect_celery_signals() -> None:
    """Count task outcomes in the worker (portal/celery.py); task names are the registered ones."""
    from celery import signals

    def _name(sender: Any) -> str:
        return str(getattr(sender, "name", None) or "unknown")

    def success(sender: Any = None, **_: Any) -> None:
        CELERY_TASKS.labels(_name(sender), "success").inc()

    def failure(sender: Any = None, **_: Any) -> None:
        CELERY_TASKS.labels(_name(sender), "failure").inc()

    def retry(sender: Any = None, **_: Any) -> None:
        CELERY_TASKS.labels(_name(sender), "retry").inc()

    def revoked(sender: Any = None, **_: Any) -> None:
        CELERY_TASKS.labels(_name(sender), "revoked").inc()

    def worker_init(**_: Any) -> None:
        wipe_multiprocess_dir()

    for signal, handler in (
        (signals.task_success, success),
        (signals.task_failure, failure),
        (signals.task_retry, retry),
        (signals.task_revoked, revoked),
        (signals.worker_init, worker_init),
    ):
        signal.connect(handler, weak=False)
