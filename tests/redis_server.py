"""A throwaway redis-server of the test's own, on a free loopback port, that a test may restart.

The machine's Redis (127.0.0.1:6379) is shared by every checkout's suite, so a test that restarts Redis
restarts this one. No persistence (`save ""`, no AOF), as a cache/broker Redis often runs: a restart loses
every queued and unacknowledged message, which is the fault the tests want.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.servers import free_port, stop_process

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.directory / f"redis-{self.port}.log").open("ab")
        options = {"port": str(self.port), "bind": "127.0.0.1", "save": "", "appendonly": "no"}
        options["dir"] = str(self.directory)
        self.process = subprocess.Popen(
            [REDIS_SERVER, *(item for name, value in options.items() for item in (f"--{name}", value))],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
            self.process = None

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop (everything queued is gone), stay down `down_seconds`, start again on the same port."""
        self.stop()
        time.sleep(down_seconds)
        self.start()
        self.restarts += 1
