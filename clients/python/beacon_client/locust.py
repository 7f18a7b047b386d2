"""Locust plugin: `import beacon_client.locust` in a locustfile reports each run to Beacon.

Options (also environment variables): --beacon-url (BEACON_URL), --beacon-key (BEACON_API_KEY), --beacon-plan
(BEACON_PLAN; default the locustfile's name without .py), --beacon-check (repeatable; BEACON_CHECKS, comma
separated), --beacon-tag key=value (repeatable), --beacon-description, --beacon-interval (seconds between stats).

What Locust does, and so what this plugin does (read from Locust 2.4x's source, checked with real runs):
- test_start/test_stop fire on the master and on every worker: only a LocalRunner or MasterRunner reports.
- The master's test_stop fires before the workers' last stats arrive, so a headless run commits on `quitting`
  (after the master's own quitting listener has collected them); a web-UI run commits after test_stop once the
  runner has stopped and the workers have reported. Each Start in the web UI is a new run.
- A Start replaces runner.stats.entries and .total with new objects (clear_all) before test_start fires, and a
  Start may come before the previous run's commit (within WORKER_REPORT_WAIT of its Stop): each run keeps the
  objects that were current when it started, and a commit is of one run, never of "whichever run is current".
- RequestStats.serialize_stats() resets what it serializes (Locust's --json would then print []): the plugin
  reads stats.entries and stats.total and never serializes them.
- Exit code: Locust's own (1 when a request failed); 3 when a --beacon-check failed (as locust-plugins does).
  When the portal is unreachable the load test runs on, the plugin logs, retries a little and gives up.
Standard library only besides Locust itself.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple

import locust
from locust import events
from locust.runners import STATE_STOPPED, STATE_STOPPING, MasterRunner, WorkerRunner

from beacon_client.errors import BeaconError
from beacon_client.http import Connection
from beacon_client.loadtests import LoadTests

logger = logging.getLogger("beacon")
CHECK_FAILED_EXIT_CODE = 3
RETRY_DELAYS = (0.5, 1.0, 2.0)  # register and commit: a few quick tries, then give up
# Locust's workers report every 3 s (locust.runners.WORKER_REPORT_INTERVAL); wait a little longer after a stop.
WORKER_REPORT_WAIT = 3.5
_Key = Tuple[str, str]


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--beacon-url",
        env_var="BEACON_URL",
        default="",
        include_in_web_ui=False,
        help="Beacon portal URL; without it the plugin does nothing",
    )
    parser.add_argument(
        "--beacon-key",
        env_var="BEACON_API_KEY",
        default="",
        include_in_web_ui=False,
        is_secret=True,
        help="API key with the loadtests:write scope",
    )
    parser.add_argument(
        "--beacon-plan",
        env_var="BEACON_PLAN",
        default="",
        include_in_web_ui=False,
        help="test plan; runs are compared within a plan (default: the locustfile's name)",
    )
    parser.add_argument(
        "--beacon-check",
        action="append",
        default=[],
        include_in_web_ui=False,
        help="threshold like p95<300, fail_ratio<0.01, p95_regression<10%% (repeatable)",
    )
    parser.add_argument(
        "--beacon-tag",
        action="append",
        default=[],
        include_in_web_ui=False,
        help="free-form tag key=value (repeatable)",
    )
    parser.add_argument("--beacon-description", default="", include_in_web_ui=False, help="a line about the run")
    parser.add_argument(
        "--beacon-interval",
        type=float,
        default=5.0,
        include_in_web_ui=False,
        help="seconds between stats reports (default 5)",
    )


def entry_dict(entry: Any) -> Dict[str, Any]:
    """One StatsEntry in Locust's own key names, read without resetting it (serialize_stats() would)."""
    return {
        "name": entry.name,
        "method": entry.method or "",
        "num_requests": entry.num_requests,
        "num_failures": entry.num_failures,
        "num_none_requests": entry.num_none_requests,
        "total_response_time": entry.total_response_time,
        "min_response_time": entry.min_response_time,
        "max_response_time": entry.max_response_time,
        "response_times": {str(k): v for k, v in entry.response_times.items()},
        "start_time": entry.start_time,
        "last_request_timestamp": entry.last_request_timestamp,
    }


class _Interval:
    """What changed in Locust's cumulative stats since the last report (counts and the histogram's delta)."""

    def __init__(self) -> None:
        self.seen: Dict[_Key, Tuple[int, int, Dict[int, int]]] = {}
        self.at = time.monotonic()

    def delta(self, key: _Key, entry: Any) -> Optional[Dict[str, Any]]:
        requests, failures, histogram = self.seen.get(key, (0, 0, {}))
        if entry.num_requests < requests:  # stats were reset (web UI "reset stats"): start over
            requests, failures, histogram = 0, 0, {}
        current = dict(entry.response_times)
        self.seen[key] = (entry.num_requests, entry.num_failures, current)
        if entry.num_requests == requests and entry.num_failures == failures:
            return None
        changed = {str(t): n - histogram.get(t, 0) for t, n in current.items() if n - histogram.get(t, 0) > 0}
        return {
            "name": entry.name,
            "method": entry.method or "",
            "num_requests": entry.num_requests - requests,
            "num_failures": max(entry.num_failures - failures, 0),
            "response_times": changed,
        }


class _Run:
    """One registered run: its uuid, the stats objects Locust filled for it, its report loop and its commit."""

    def __init__(self, uuid: str, stats: Any) -> None:
        self.uuid = uuid
        # References, not copies: Locust goes on adding to these until the next Start swaps in new ones.
        self.entries = stats.entries
        self.total = stats.total
        self.interval = _Interval()
        self.stopping = threading.Event()
        self.committed = False


class Reporter:
    """One process's link to Beacon; a run per test_start, each committed once."""

    def __init__(self, environment: Any, options: Any) -> None:
        self.environment = environment
        self.options = options
        self.client = LoadTests(Connection(options.beacon_url, options.beacon_key, timeout=5.0))
        self.current: Optional[_Run] = None
        self.lock = threading.Lock()
        self.failing = False
        self.answer: Optional[Dict[str, Any]] = None

    # --- calls to the portal ---
    def _retrying(self, what: str, call: Callable[[], Any]) -> Any:
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                return call()
            except BeaconError as error:
                if not error.retryable or delay is None:
                    logger.warning("Beacon: %s failed (%s); giving up, the load test is not affected", what, error)
                    return None
                logger.info("Beacon: %s failed (%s); retry %d in %.1f s", what, error, attempt + 1, delay)
                time.sleep(delay)
        return None

    def start(self) -> None:
        options, environment = self.options, self.environment
        self.finish_previous()
        checks = list(options.beacon_check or [])
        checks += [c.strip() for c in os.environ.get("BEACON_CHECKS", "").split(",") if c.strip()]
        tags = dict(t.split("=", 1) for t in (options.beacon_tag or []) if "=" in t)
        stats = environment.runner.stats  # this run's objects: test_start fires right after clear_all()
        uuid = self._retrying(
            "registering the run",
            lambda: self.client.register(
                plan=plan_name(options),
                target_host=environment.host or "",
                host=socket.gethostname()[:255],
                mode="cluster" if isinstance(environment.runner, MasterRunner) else "single",
                users=int(options.num_users or 0),
                spawn_rate=float(options.spawn_rate or 0),
                description=options.beacon_description or "",
                tags=tags,
                checks=checks,
                locust_version=locust.__version__,
            ),
        )
        if uuid is None:
            self.current = None
            return
        run = self.current = _Run(uuid, stats)
        logger.info("Beacon: run %s registered (plan %s)", uuid, plan_name(options))
        threading.Thread(target=self._report_loop, args=(run,), daemon=True).start()

    def _report_loop(self, run: _Run) -> None:
        while not run.stopping.wait(max(float(self.options.beacon_interval or 5), 0.5)):
            self.post_stats(run)

    def post_stats(self, run: _Run) -> None:
        entries = [d for key, e in list(run.entries.items()) if (d := run.interval.delta(key, e))]
        total = run.interval.delta(("\0total", ""), run.total)
        now = time.monotonic()
        interval, run.interval.at = max(now - run.interval.at, 0.1), now
        users = int(self.environment.runner.user_count) if run is self.current else 0
        try:
            self.client.stats(run.uuid, interval=round(interval, 3), entries=entries, total=total, users=users)
        except BeaconError as error:
            if not self.failing:
                logger.warning("Beacon: stats not delivered (%s); the load test goes on, retrying each interval", error)
            self.failing = True
        else:
            if self.failing:
                logger.info("Beacon: stats delivered again")
            self.failing = False

    def commit(self, run: Optional[_Run], exit_code: Optional[int]) -> Optional[Dict[str, Any]]:
        with self.lock:
            if run is None or run.committed:
                return None
            run.committed = True
        run.stopping.set()
        self.post_stats(run)  # the last interval, so the charts reach the end
        total = run.total
        duration = None
        if total.last_request_timestamp and total.start_time:
            duration = max(total.last_request_timestamp - total.start_time, 0)
        entries = [entry_dict(e) for e in list(run.entries.values()) if e.num_requests or e.num_failures]
        state = "failed" if exit_code is not None and exit_code >= 2 else "completed"
        answer = self._retrying(
            "committing the run",
            lambda: self.client.commit(
                run.uuid,
                entries=entries,
                total=entry_dict(total),
                duration=duration,
                exit_code=exit_code,
                state=state,
                users=int(self.options.num_users or 0),
            ),
        )
        if answer is not None:
            self.answer = answer
            self.report(answer)
        return answer

    def finish_previous(self) -> None:
        """A web-UI Start before the previous run's commit: commit that one now, from its own stats objects."""
        self.commit(self.current, None)

    def report(self, answer: Dict[str, Any]) -> None:
        out = sys.stderr
        out.write(
            f"\nBeacon: run {answer['uuid']} {answer['state']}: {answer['requests']} requests, "
            f"{answer['failures']} failures\n"
        )
        for check in answer.get("checks", []):
            verdict = {True: "passed", False: "FAILED", None: "not evaluated"}[check.get("passed")]
            extra = f" ({check['reason']})" if check.get("reason") else ""
            out.write(f"  check {check['check']}: {verdict}{extra}\n")
        if answer.get("compared_to"):
            try:
                out.write(comparison_table(self.client.compare(answer["uuid"], "baseline")))
            except BeaconError as error:
                out.write(f"  (comparison with the baseline unavailable: {error})\n")
        out.write(f"  {answer['url']}\n\n")
        out.flush()


def plan_name(options: Any) -> str:
    if options.beacon_plan:
        return str(options.beacon_plan)
    locustfile = str(getattr(options, "locustfile", "") or "locustfile").split(",")[0]
    name = os.path.basename(locustfile)
    return (name[:-3] if name.endswith(".py") else name) or "default"


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return (
        f"{value:.3g}"
        if isinstance(value, float) and value < 1
        else f"{value:.0f}"
        if isinstance(value, float)
        else str(value)
    )


def comparison_table(compare: Dict[str, Any]) -> str:
    lines = [
        f"  compared with baseline {compare['to']} (plan {compare['plan']}):",
        f"  {'endpoint':<32} {'requests':>9} {'fail%':>6} {'rps':>8} {'p50':>6} {'p95':>6} {'p99':>6} {'Δp95':>8}",
    ]
    for row in compare["endpoints"][:20]:
        mine = row["run"] or {}
        change = row["change_pct"].get("p95")
        label = f"{row['method']} {row['name']}".strip()[:32]
        fail = mine.get("fail_ratio")
        lines.append(
            f"  {label:<32} {_fmt(mine.get('requests')):>9} {_fmt(None if fail is None else fail * 100):>6} "
            f"{_fmt(mine.get('rps')):>8} {_fmt(mine.get('p50')):>6} {_fmt(mine.get('p95')):>6} "
            f"{_fmt(mine.get('p99')):>6} {('-' if change is None else f'{change:+.1f}%'):>8}"
        )
    return "\n".join(lines) + "\n"


def locust_exit_code(environment: Any) -> int:
    """The code Locust's shutdown() is about to exit with (main.py computes it right after `quitting`)."""
    from locust import log

    if environment.process_exit_code is not None:
        return int(environment.process_exit_code)
    runner = environment.runner
    if len(runner.errors) or len(runner.exceptions):
        return int(getattr(environment.parsed_options, "exit_code_on_error", 1))
    return 2 if log.unhandled_greenlet_exception else 0


_reporters: Dict[int, Reporter] = {}


def _reporter(environment: Any) -> Optional[Reporter]:
    runner = environment.runner
    if runner is None or isinstance(runner, WorkerRunner):
        return None  # only the LocalRunner or the MasterRunner reports
    return _reporters.get(id(environment))


@events.init.add_listener
def _init(environment: Any, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None or isinstance(environment.runner, WorkerRunner):
        return
    if not options.beacon_url:
        logger.info("Beacon: --beacon-url / BEACON_URL not set; this run is not reported")
        return
    try:
        _reporters[id(environment)] = Reporter(environment, options)
    except ValueError as error:  # a malformed URL: say so, and let Locust run
        logger.warning("Beacon: %s; this run is not reported", error)


def _safely(what: str, action: Callable[[], Any]) -> None:
    # An exception escaping a listener would make Locust exit 2; the portal must never change the exit code.
    try:
        action()
    except Exception:
        logger.exception("Beacon: %s failed; the load test is not affected", what)


@events.test_start.add_listener
def _test_start(environment: Any, **_kwargs: Any) -> None:
    reporter = _reporter(environment)
    if reporter is not None:
        _safely("registering the run", reporter.start)


@events.test_stop.add_listener
def _test_stop(environment: Any, **_kwargs: Any) -> None:
    reporter = _reporter(environment)
    if reporter is None or getattr(environment.parsed_options, "headless", False):
        return  # headless: the workers' last stats are not in yet; `quitting` commits

    run = reporter.current  # the run this Stop ends; a Start meanwhile commits it and begins another

    def later() -> None:
        runner = environment.runner
        deadline = time.monotonic() + 30
        while runner.state == STATE_STOPPING and time.monotonic() < deadline:
            time.sleep(0.2)
        if isinstance(runner, MasterRunner):
            time.sleep(WORKER_REPORT_WAIT)
        if reporter.current is run and (runner.state == STATE_STOPPED or not isinstance(runner, MasterRunner)):
            reporter.commit(run, locust_exit_code(environment))

    threading.Thread(target=lambda: _safely("committing the run", later), daemon=True).start()


@events.quitting.add_listener
def _quitting(environment: Any, **_kwargs: Any) -> None:
    reporter = _reporter(environment)
    if reporter is None:
        return

    def commit() -> None:
        answer = reporter.commit(reporter.current, locust_exit_code(environment))
        if answer is None:
            answer = reporter.answer  # committed after a web-UI stop
        if answer and answer.get("failed_checks"):
            logger.error(
                "Beacon: checks failed: %s; exit code %d", ", ".join(answer["failed_checks"]), CHECK_FAILED_EXIT_CODE
            )
            environment.process_exit_code = CHECK_FAILED_EXIT_CODE

    _safely("committing the run", commit)
