"""Every API route, walked from the URL conf, with each dependency cut or frozen through a TCP proxy.

A real gunicorn portal reaches PostgreSQL, Redis (the cache), the Celery broker (Redis, another proxy) and
InfluxDB (the influx backend) only through tests.proxy.TcpProxy. For each dependency the walk sends every
method of every `api/` route, with an API key holding every scope and with a member session, and checks:
- every answer is JSON; a failure is a `503` `unavailable` with `Retry-After` (never HTML, never a bare 500);
- routes that need the dependency say so (503), routes that do not answer exactly as with it up;
- after restore() every route answers as before, without a restart; `/health/ready` names the dependency;
- frozen (connections open, no byte moving), every answer comes within FROZEN_BOUND_S.
A route added later is walked the same way; give it a working request in EXAMPLES if the default one
(`?device=…&field=cpu`, a line-protocol body) is a 400 for it, so the walk reaches its dependencies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Membership, Organization
from accounts.scopes import registered_scopes
from alerts.models import AlertRule, Silence
from devices import services as devices
from quotas.models import GatewayService
from registry.services import gauge_create
from tests.proxy import TcpProxy
from tests.servers import GunicornPortal, InfluxServer
from tests.urlwalk import Route, fill, walk

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CACHE_DB, BROKER_DB = 11, 13
DEVICE = "edge-walk-01"
# Calls in flight at once, and the portal's threads to take them: a frozen dependency's calls mostly wait on a
# socket, so 8 overlap on 2 cores (4 took ~100 s for the nine walks of the fail-open test).
WALK_THREADS = 8
FROZEN_BOUND_S = 8.0  # loose: the longest wait is the database's answer deadline + connect timeout
# route -> method -> (query for GET / body for the rest, content type). Default: see DEFAULT_REQUEST.
_RULE = '{"name": "walk rule", "kind": "offline", "recipients": ["ops@example.com"]}'
_NEW_RULE = lambda: _RULE.replace("walk rule", f"walk rule {uuid.uuid4().hex[:8]}")  # noqa: E731 (names are unique)
_SILENCE = '{"ends_at": "2099-01-01T00:00:00Z", "reason": "walk"}'
_NUMBER = ("1.5", "text/plain")
_ENTRY = '{"name": "/", "method": "GET", "num_requests": 2, "response_times": {"10": 2}}'
EXAMPLES: dict[str, dict[str, tuple[Any, str]]] = {
    "api/v1/metrics": {"post": (f'{{"device": "{DEVICE}", "metrics": {{"cpu": 1.5}}}}', "application/json")},
    "api/v1/gauges/<str:gauge>": {"get": ({}, ""), "post": ("walk gauge", "text/plain"), "put": _NUMBER},
    "api/v1/gauges/<str:gauge>/add": {"put": _NUMBER},
    "api/v1/gauges/<str:gauge>/sub": {"put": _NUMBER},
    "api/v1/gauges/<str:gauge>/inc": {"put": ("", "text/plain")},
    "api/v1/gauges/<str:gauge>/dec": {"put": ("", "text/plain")},
    "api/v1/alerts/rules/": {"post": (_NEW_RULE, "application/json")},
    "api/v1/alerts/rules/<str:rule>": {"put": (_RULE, "application/json"), "patch": (_RULE, "application/json")},
    "api/v1/alerts/silences/": {"post": (_SILENCE, "application/json")},
    "api/v1/alerts/silences/<str:silence>": {
        "put": (_SILENCE, "application/json"),
        "patch": (_SILENCE, "application/json"),
    },
    "api/v1/loadtests/": {"post": ('{"plan": "walk"}', "application/json")},
    "api/v1/loadtests/<uuid:run>/stats": {"post": (f'{{"interval": 1, "entries": [{_ENTRY}]}}', "application/json")},
    "api/v1/loadtests/<uuid:run>/commit": {"post": (f'{{"entries": [{_ENTRY}]}}', "application/json")},
    "api/v1/loadtests/<uuid:run>/compare": {"get": ({"to": "baseline"}, "")},
}
# The walk's load-test run is committed (and pinned as its plan's baseline): a second commit, and stats after
# it, are a 409 by design; every walk, outage or not, must answer them the same.
BY_DESIGN = {
    ("api/v1/loadtests/<uuid:run>/commit", "post"): 409,
    ("api/v1/loadtests/<uuid:run>/stats", "post"): 409,
}
# A path parameter -> the name of the object the stack creates for it (default: the device's slug);
# `rule` and `silence` get the ids of the objects `_seed` makes.
PARAMETERS = {"name": "walk-svc", "gauge": "walk_gauge"}
# Calls that remove what other calls read: walked after the rest, one at a time, then `_seed` puts it back,
# so every walk sees the same objects whatever order its calls run in.
DESTRUCTIVE_ROUTES = {"api/v1/admin/wipe"}
# The routes each dependency's outage must turn into a 503 (the others must not change at all).
NEEDS = {
    # Writes and history of a known device may still succeed on the influx backend while the key and the
    # device are in the process's memos (API_KEY_CACHE_SECONDS); the device list always reads the database.
    "database": {"api/v1/devices/", "api/v1/devices/<str:slug>"},
    "store": {
        "api/v1/metrics",
        "api/v2/write",
        "api/v1/history",
        "api/v1/devices/<str:slug>/series",
        "api/v1/services/<str:name>/bandwidth",
        "api/v1/loadtests/<uuid:run>/baseline",  # pinning copies the run's series from the store
    },
    "broker": set(),  # no API route enqueues today; one that does must answer a 503 here, or queue elsewhere
}


def _default_request(method: str) -> tuple[Any, str]:
    if method == "get":
        return {"device": DEVICE, "field": "cpu", "measurement": "edge", "start": "-1h"}, ""
    return f"edge,device={DEVICE} cpu=2.5", "text/plain"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    retry_after: str | None
    code: str | None
    seconds: float


@dataclass
class Stack:
    portal: GunicornPortal
    proxies: dict[str, TcpProxy]
    credentials: dict[str, dict[str, Any]]  # who -> requests kwargs (headers / cookies)
    slug: str
    seed: Any  # () -> None: (re)creates the objects the routes' parameters name

    def routes(self) -> list[Route]:
        return [r for r in walk() if r.route.startswith("api/") and not r.route.startswith(("api/schema", "api/docs"))]

    def call(self, route: Route, method: str, who: str) -> Answer:
        payload, content_type = EXAMPLES.get(route.route, {}).get(method) or _default_request(method)
        payload = payload() if callable(payload) else payload
        url = self.portal.url + fill(route.route, {p: PARAMETERS.get(p, self.slug) for p in route.parameters})
        kwargs = dict(self.credentials[who])
        # JSON where a route also speaks plain text (the gauge registry's seed-compatible answers).
        kwargs["headers"] = {**kwargs.get("headers", {}), "Accept": "application/json"}
        if method == "get":
            kwargs["params"] = payload
        else:
            kwargs["data"] = payload
            kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Type": content_type}
        started = time.monotonic()
        response = requests.request(method, url, timeout=60, **kwargs)
        seconds = time.monotonic() - started
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = "<not JSON>"
        code = body.get("code") if isinstance(body, dict) else None
        return Answer(
            response.status_code,
            response.headers.get("Content-Type", ""),
            response.headers.get("Retry-After"),
            code,
            seconds,
        )

    def walk(self) -> dict[tuple[str, str, str], Answer]:
        """Every (route, method, credential) once, WALK_THREADS at a time (the portal's gthread threads): a
        frozen dependency costs each call its deadline, and in parallel the walk takes 1/WALK_THREADS of that."""
        calls = [(r, m, w) for r in self.routes() for m in r.methods for w in self.credentials]
        destructive = [c for c in calls if c[1] == "delete" or c[0].route in DESTRUCTIVE_ROUTES]
        # Later routes first (a silence before the rule it belongs to); within a route the key, then the session.
        order = {r.route: i for i, r in enumerate(self.routes())}
        destructive.sort(key=lambda c: -order[c[0].route])
        calls = [c for c in calls if c not in destructive]
        with ThreadPoolExecutor(max_workers=WALK_THREADS) as pool:
            answers = list(pool.map(lambda call: self.call(*call), calls))
        answers += [self.call(*call) for call in destructive]
        self.seed()
        return {(r.route, m, w): answer for (r, m, w), answer in zip(calls + destructive, answers, strict=True)}

    def ready(self) -> dict[str, Any]:
        return dict(requests.get(self.portal.url + "/health/ready", timeout=60).json())


def _redis_up() -> None:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        from tests.conftest import require_server

        require_server(False, "Redis is not running on 127.0.0.1:6379")


def _stack(
    settings: Any, tmp_path: Path, org: Organization, influx_server: InfluxServer, *, fail_open: bool
) -> Iterator[Stack]:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (gunicorn runs in another process)")
    _redis_up()
    if not influx_server.running:
        influx_server.start()
    bucket = f"t_{uuid.uuid4().hex[:12]}"
    influx_server.create_database(bucket)
    influx_port = int(influx_server.url.rsplit(":", 1)[1])
    proxies = {
        "database": TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)),
        "cache": TcpProxy("127.0.0.1", 6379),
        "broker": TcpProxy("127.0.0.1", 6379),
        "store": TcpProxy("127.0.0.1", influx_port),
    }
    user = db.get("USER") or "postgres"
    prefix = f"beacon-walk-{uuid.uuid4().hex[:8]}:"
    devices.device_create(organization=org, name=DEVICE)
    GatewayService.objects.create(organization=org, name=PARAMETERS["name"], kong_service="walk-svc")
    rule = AlertRule.objects.create(organization=org, name="walk rule", kind="offline")
    silence = Silence.objects.create(organization=org, rule=rule, starts_at=timezone.now(), ends_at=timezone.now())
    PARAMETERS.update(rule=str(rule.pk), silence=str(silence.pk))

    def seed() -> None:
        gauge_create(organization=org, name=PARAMETERS["gauge"], labels={}, description="walk gauge")
        AlertRule.objects.get_or_create(pk=rule.pk, defaults={"organization": org, "name": "walk rule"})
        Silence.objects.get_or_create(
            pk=silence.pk,
            defaults={"organization": org, "rule_id": rule.pk, "starts_at": timezone.now(), "ends_at": timezone.now()},
        )

    seed()
    PARAMETERS["run"] = _committed_baseline_run(org)
    member = User.objects.create_user(username="walker", password="pw-for-tests-only")
    accounts.membership_grant(user=member, organization=org, role=Membership.Role.ADMIN)
    settings.SECRET_KEY = "walk-test-secret-key-" + "y" * 50  # signs the session made here and checked there
    session = Client()
    session.force_login(member)
    key = accounts.api_key_issue(organization=org, name="walk", scopes=list(registered_scopes())).plaintext
    portal = GunicornPortal(
        env={
            "DJANGO_SETTINGS_MODULE": "tests.celery_settings",
            "BEACON_TEST_BROKER_KEYPREFIX": prefix,
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": f"postgres://{user}@127.0.0.1:{proxies['database'].port}/{db['NAME']}",
            "DB_CONNECT_TIMEOUT": "2",
            "DB_STATEMENT_TIMEOUT": "1000",
            "DB_CONN_MAX_AGE": "60",
            "REDIS_URL": f"redis://127.0.0.1:{proxies['cache'].port}/{CACHE_DB}",
            "RATELIMIT_FAIL_OPEN": "1" if fail_open else "0",
            # Nine walks of every route with one key: the walk measures outages, not the budget.
            "API_KEY_DEFAULT_RATE": "100000/m",
            # Each walk sends every key-only write a session, which is unauthenticated there and spends the IP's
            # budget; with a dozen write routes the default 60/m would turn the later walks into 429s.
            "RATELIMIT_ANONYMOUS_RATE": "100000/m",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{proxies['broker'].port}/{BROKER_DB}",
            "TIMESERIES_BACKEND": "influx",
            "INFLUX_URL": f"http://127.0.0.1:{proxies['store'].port}",
            "INFLUX_TOKEN": "walk-token",
            "INFLUX_BUCKET": bucket,
            "INFLUX_TIMEOUT_MS": "1500",
        },
        log_dir=tmp_path,
        workers=1,
        threads=WALK_THREADS,
    )
    cookie = {settings.SESSION_COOKIE_NAME: session.cookies[settings.SESSION_COOKIE_NAME].value}
    credentials = {"key": {"headers": {"Authorization": f"Bearer {key}"}}, "session": {"cookies": cookie}}
    try:
        yield Stack(portal, proxies, credentials, slug=DEVICE, seed=seed)
    finally:
        portal.close()
        for proxy in proxies.values():
            proxy.close()
        influx_server.drop_database(bucket)
        for number, pattern in ((CACHE_DB, "beacon:*"), (BROKER_DB, f"{prefix}*")):
            client = redis.Redis(host="127.0.0.1", port=6379, db=number)
            for name in client.scan_iter(match=pattern):
                client.delete(name)


def _committed_baseline_run(org: Organization) -> str:
    from loadtests import services as loadtests

    run = loadtests.run_register(organization=org, api_key=None, plan="walk")
    entry = {"name": "/", "method": "GET", "num_requests": 2, "num_failures": 0, "response_times": {10: 2}}
    loadtests.run_commit(run=run, entries=[entry])
    run.refresh_from_db()
    loadtests.run_pin_baseline(run=run)
    return str(run.uuid)


@pytest.fixture
def fail_open_stack(settings: Any, tmp_path: Path, org: Organization, influx_server: InfluxServer) -> Iterator[Stack]:
    yield from _stack(settings, tmp_path, org, influx_server, fail_open=True)


@pytest.fixture
def fail_closed_stack(settings: Any, tmp_path: Path, org: Organization, influx_server: InfluxServer) -> Iterator[Stack]:
    yield from _stack(settings, tmp_path, org, influx_server, fail_open=False)


def _problems(
    answers: dict[tuple[str, str, str], Answer],
    baseline: dict[tuple[str, str, str], Answer],
    *,
    needs: set[str],
    others_may_fail: bool,
    frozen: bool,
) -> list[str]:
    """`needs`: routes that must answer 503; `others_may_fail`: the rest may too (authentication itself needs
    the database), else they must answer exactly as with every dependency up."""
    problems = []
    for (route, method, who), answer in answers.items():
        where = f"{method.upper()} {route} as {who}: {answer}"
        if "application/json" not in answer.content_type and answer.status != 204:
            problems.append(f"{where}: not JSON")
        if answer.status >= 500 and (answer.status != 503 or answer.code != "unavailable" or not answer.retry_after):
            problems.append(f"{where}: a failure must be 503 unavailable with Retry-After")
        usual = baseline[(route, method, who)].status
        if route in needs and usual < 400:
            allowed = {503}
        elif route in needs or others_may_fail:
            allowed = {usual, 503}
        else:
            allowed = {usual}
        if answer.status not in allowed:
            problems.append(f"{where}: expected one of {sorted(allowed)}")
        if frozen and answer.seconds > FROZEN_BOUND_S:
            problems.append(f"{where}: took {answer.seconds:.1f} s")
    return problems


def _recovered(stack: Stack, baseline: dict[tuple[str, str, str], Answer], timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        answers = stack.walk()
        different = [
            f"{m.upper()} {r} as {w}: {a.status} (was {baseline[(r, m, w)].status})"
            for (r, m, w), a in answers.items()
            if a.status != baseline[(r, m, w)].status
        ]
        if not different or time.monotonic() > deadline:
            return different
        time.sleep(1)


def test_every_api_route_answers_json_503_for_each_dependency_outage_and_recovers(fail_open_stack: Stack) -> None:
    stack = fail_open_stack
    baseline = stack.walk()
    routes = {route for route, _, _ in baseline}
    assert {"api/v1/devices/", "api/v1/history", "api/v1/metrics", "api/v2/write", "api/v1/whoami"} <= routes
    # The key reaches every route; a session is refused where keys only are taken (writes, whoami) by design.
    refused = {
        k: a.status
        for k, a in baseline.items()
        if a.status >= (400 if k[2] == "key" else 500) and BY_DESIGN.get(k[:2]) != a.status
    }
    assert refused == {}
    assert stack.ready()["failed"] == []

    report: dict[str, list[str]] = {}
    for dependency, modes in (
        ("database", ("cut", "freeze")),
        ("cache", ("cut", "freeze")),
        ("broker", ("cut", "freeze")),
        ("store", ("cut", "freeze")),
    ):
        needs = NEEDS.get(dependency, set())
        for mode in modes:
            proxy = stack.proxies[dependency]
            getattr(proxy, mode)()
            answers = stack.walk()
            failed = stack.ready()["failed"]
            proxy.restore()
            problems = _problems(
                answers, baseline, needs=needs, others_may_fail=dependency == "database", frozen=mode == "freeze"
            )
            if dependency not in failed:
                problems.append(f"/health/ready did not name {dependency}: {failed}")
            problems += _recovered(stack, baseline)
            report[f"{dependency} {mode}"] = problems
    assert report == {name: [] for name in report}
    assert "Traceback" not in stack.portal.output()


def test_cache_down_fail_closed_every_rate_limited_route_is_json_503_then_recovers(fail_closed_stack: Stack) -> None:
    stack = fail_closed_stack
    baseline = stack.walk()
    every_route = {route for route, _, _ in baseline}
    for mode in ("cut", "freeze"):
        getattr(stack.proxies["cache"], mode)()
        answers = stack.walk()
        stack.proxies["cache"].restore()
        assert _problems(answers, baseline, needs=every_route, others_may_fail=False, frozen=mode == "freeze") == []
        # Every 503 says when to come back; a session's write refused for its missing CSRF token is a 403
        # decided before the cache is asked, as with the cache up.
        assert {k: a.retry_after for k, a in answers.items() if a.status == 503 and a.retry_after != "5"} == {}
        time.sleep(1.2)  # CACHE_RETRY_SECONDS: the breaker tries Redis again
        assert _recovered(stack, baseline) == []
