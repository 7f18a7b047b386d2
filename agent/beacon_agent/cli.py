"""`beacon-agent [--config PATH] [--print-config] {run,once,check}`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from typing import List, Optional

from beacon_agent import __version__
from beacon_agent import sender as sender_mod
from beacon_agent.agent import Agent
from beacon_agent.config import Config, ConfigError, load_config
from beacon_agent.identity import DeviceResolver
from beacon_agent.lineprotocol import Point, encode_batch

# Exit codes of `once` and `check`, so scripts and systemd ExecStartPre can act on them.
EXIT_OK, EXIT_REJECTED, EXIT_AUTH, EXIT_UNREACHABLE, EXIT_CONFIG = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beacon-agent", description="Beacon edge agent")
    parser.add_argument("mode", nargs="?", choices=["run", "once", "check"], help="run (daemon), once, check")
    parser.add_argument("-c", "--config", help="config file (default /etc/beacon-agent.toml or $BEACON_CONFIG)")
    parser.add_argument("--print-config", action="store_true", help="print the effective config, key masked")
    parser.add_argument("--version", action="version", version=f"beacon-agent {__version__}")
    return parser


def _setup_logging(level: str) -> None:
    # journald adds timestamps; keep lines short and greppable.
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"beacon-agent: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.print_config:
        print(json.dumps(config.masked(), indent=2, sort_keys=True))
        if not args.mode:
            return EXIT_OK
    if not args.mode:
        _parser().print_usage(sys.stderr)
        return EXIT_CONFIG
    _setup_logging(config.log_level)
    if not config.api_key and args.mode != "check":
        logging.getLogger("beacon_agent").warning("no api_key configured (BEACON_API_KEY): the portal will answer 401")
    if args.mode == "check":
        return check(config)
    if args.mode == "once":
        return _exit_code(Agent(config, persistent=False, resolve_device=DeviceResolver(config)).once())
    resolver = DeviceResolver(config, os.path.join(config.state_dir, "device.json"))
    agent = Agent(config, resolve_device=resolver)

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger("beacon_agent").info("signal %d: flushing and stopping", signum)
        agent.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return agent.run()


def _exit_code(result: sender_mod.Result) -> int:
    log = logging.getLogger("beacon_agent")
    if result.outcome == sender_mod.OK:
        log.info("batch stored (HTTP %d)", result.status)
        return EXIT_OK
    log.error("batch not stored: HTTP %s: %s", result.status or "-", result.message)
    codes = {sender_mod.REJECTED: EXIT_REJECTED, sender_mod.TOO_LARGE: EXIT_REJECTED, sender_mod.AUTH: EXIT_AUTH}
    return codes.get(result.outcome, EXIT_UNREACHABLE)


def check(config: Config) -> int:
    """Connectivity, then auth: a human-readable line per step and an exit code."""
    import urllib.error  # only here: `run` should not pay for urllib's imports
    import urllib.request

    base = config.url.rstrip("/")
    print(f"portal:  {base}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=config.timeout) as resp:
            resp.read()
        print(f"reach:   OK ({(time.monotonic() - started) * 1000:.0f} ms to /health)")
    except urllib.error.HTTPError as err:
        print(f"reach:   the server answered HTTP {err.code} on /health: is {base} a Beacon portal?")
        return EXIT_UNREACHABLE
    except (urllib.error.URLError, OSError) as exc:
        print(f"reach:   FAILED: cannot connect to {base}: {getattr(exc, 'reason', exc)}")
        return EXIT_UNREACHABLE
    if not config.api_key:
        print("auth:    FAILED: no API key configured (set api_key in the config file or BEACON_API_KEY)")
        return EXIT_AUTH
    device = config.device
    if device:
        print(f"device:  {device} (configured)")
    else:
        resolver = DeviceResolver(config)
        device = resolver() or ""
        if not device:
            print(f"device:  UNKNOWN: {resolver.reason}")
            return EXIT_AUTH if resolver.reason.startswith("HTTP 40") else EXIT_UNREACHABLE
        origin = {"key": "the key's bound device", "hostname": "the hostname; the key is organization-wide"}
        print(f"device:  {device} ({origin.get(resolver.source, resolver.source)})")
    # The only honest auth check for a write-only key is a write: one tiny self point.
    point = Point("beacon_agent", {**config.tags, "device": device}, {"check": 1}, time.time_ns())
    result = sender_mod.Sender(config).send(sender_mod.compress(encode_batch([point], config.precision)))
    if result.outcome == sender_mod.OK:
        print(f"auth:    OK: key {config.masked()['api_key']} may write metrics (HTTP {result.status})")
        return EXIT_OK
    if result.outcome == sender_mod.AUTH:
        print(f"auth:    FAILED: HTTP {result.status}: {result.message}")
        print("         check the key (bcn_...), its metrics:write scope, its device binding, and the url")
        return EXIT_AUTH
    if result.outcome == sender_mod.RETRY:
        print(f"auth:    UNKNOWN: the portal is busy or degraded (HTTP {result.status}): {result.message}")
        return EXIT_UNREACHABLE
    print(f"auth:    the key works but the portal rejected the test point (HTTP {result.status}): {result.message}")
    return EXIT_REJECTED
