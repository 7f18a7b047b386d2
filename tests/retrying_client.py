"""A client that retries on 5xx and on connection errors until 204, like the agent (with a shorter backoff).

`Load(url, token).run(batches)` sends each batch (POINTS_PER_BATCH points of measurement `load`, device
`edge-1`, values batch*POINTS_PER_BATCH + i, one second apart from T0) to `/api/v2/write` until it is
stored, and records every failed answer with the phase the test was in. Several threads may share one Load.
A 4xx fails the test: a client would drop the batch.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests

POINTS_PER_BATCH = 5
T0 = int(time.time()) - 3600


@dataclass
class Failure:
    status: int
    content_type: str
    retry_after: str | None
    code: str | None
    seconds: float
    phase: str
    message: str = ""


@dataclass
class Load:
    url: str
    token: str
    phase: str = "normal"
    interval: float = 0.0  # pause after each stored batch (a paced client), per thread
    failures: list[Failure] = field(default_factory=list)
    stored_batches: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def body(self, batch: int) -> str:
        return "\n".join(
            f"load,device=edge-1 v={batch * POINTS_PER_BATCH + i} {T0 + batch * POINTS_PER_BATCH + i}"
            for i in range(POINTS_PER_BATCH)
        )

    def send(self, batch: int) -> None:
        """Retry on 5xx and on connection errors until 204, like the agent (shorter backoff)."""
        while True:
            started = time.monotonic()
            try:
                response = requests.post(
                    f"{self.url}/api/v2/write?precision=s",
                    data=self.body(batch),
                    headers={"Authorization": f"Token {self.token}"},
                    timeout=60,
                )
            except requests.ConnectionError:
                time.sleep(0.2)
                continue
            seconds = time.monotonic() - started
            if response.status_code == 204:
                with self.lock:
                    self.stored_batches.append(batch)
                return
            try:
                code, message = response.json().get("code"), str(response.json().get("message"))
            except ValueError:
                code, message = None, response.text[:200]
            with self.lock:
                self.failures.append(
                    Failure(
                        response.status_code,
                        response.headers.get("Content-Type", ""),
                        response.headers.get("Retry-After"),
                        code,
                        seconds,
                        self.phase,
                        message,
                    )
                )
            assert response.status_code >= 500, response.text  # a 4xx would make a client drop the batch
            time.sleep(0.2)

    def run(self, batches: list[int]) -> None:
        for batch in batches:
            self.send(batch)
            time.sleep(self.interval)


def wait_for_batches(load: Load, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(load.stored_batches) < count:
        assert time.monotonic() < deadline, f"only {len(load.stored_batches)} of {count} batches stored"
        time.sleep(0.05)
