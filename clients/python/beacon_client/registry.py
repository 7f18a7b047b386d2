"""The gauge registry (MetricNexus's client methods) over Beacon's /api/v1/gauges/ API.

    from beacon_client import Registry
    gauges = Registry("https://beacon.example.com", "bcn_…")   # or BEACON_URL / BEACON_KEY
    gauges.create("uptime", "metric server uptime")
    gauges.update("uptime", 12.5)
    gauges.increment("jobs_done_total")
    gauges.read("uptime")  # -> 12.5

Errors are BeaconError (status, code, message); 429 and 503 are retried after their Retry-After (at most
`retries` times, capped at `max_wait` seconds each), as are unreachable portals.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any, Callable, Dict, Optional

from beacon_client.errors import BeaconError
from beacon_client.http import Connection

Labels = Optional[Dict[str, str]]


class Registry:
    def __init__(
        self,
        url: Optional[str] = None,
        key: Optional[str] = None,
        *,
        connection: Optional[Connection] = None,
        retries: int = 3,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection or Connection(url, key)
        self.retries = retries
        self.max_wait = max_wait
        self._sleep = sleep

    def _call(self, method: str, name: str, suffix: str = "", *, labels: Labels = None, **kwargs: Any) -> Any:
        path = "/api/v1/gauges/" + urllib.parse.quote(name, safe="") + suffix
        attempt = 0
        while True:
            try:
                return self.connection.request(method, path, params=dict(labels or {}), **kwargs)[1]
            except BeaconError as error:
                if not error.retryable or attempt >= self.retries:
                    raise
                attempt += 1
                self._sleep(min(self.max_wait, _retry_after(error, attempt)))

    def create(
        self,
        key: str,
        description: str,
        *,
        labels: Labels = None,
        kind: str = "gauge",
        ttl_seconds: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Create the gauge if it does not exist (same description: no change); another description -> 409."""
        body: Dict[str, Any] = {"description": description, "labels": dict(labels or {}), "kind": kind}
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        created: Dict[str, Any] = self._call("POST", key, json_body=body)
        return created

    def update(self, key: str, value: float, *, labels: Labels = None) -> None:
        """Set the value."""
        self._call("PUT", key, labels=labels, body=_number(value), content_type="text/plain")

    def create_update(self, key: str, description: str, value: float, *, labels: Labels = None) -> None:
        self.create(key, description, labels=labels)
        self.update(key, value, labels=labels)

    def read(self, key: str, *, labels: Labels = None) -> float:
        gauge = self._call("GET", key, labels=labels)
        return float(gauge["value"])

    def increment(self, key: str, *, labels: Labels = None) -> None:
        self._call("PUT", key, "/inc", labels=labels)

    def decrement(self, key: str, *, labels: Labels = None) -> None:
        self._call("PUT", key, "/dec", labels=labels)

    def add(self, key: str, value: float, *, labels: Labels = None) -> None:
        self._call("PUT", key, "/add", labels=labels, body=_number(value), content_type="text/plain")

    def subtract(self, key: str, value: float, *, labels: Labels = None) -> None:
        self._call("PUT", key, "/sub", labels=labels, body=_number(value), content_type="text/plain")

    def delete(self, key: str, *, labels: Labels = None) -> None:
        self._call("DELETE", key, labels=labels)


def _number(value: float) -> bytes:
    return repr(float(value)).encode()


def _retry_after(error: BeaconError, attempt: int) -> float:
    body = error.body if isinstance(error.body, dict) else {}
    hinted = body.get("retry_after")
    if isinstance(hinted, (int, float)) and hinted > 0:
        return float(hinted)
    return float(2 ** (attempt - 1))  # unreachable or no hint: 1, 2, 4 s
