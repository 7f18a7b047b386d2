"""Load-test runs: register → uuid, periodic stats, commit, compare (the portal's /api/v1/loadtests/)."""

from __future__ import annotations

import urllib.parse
from typing import Any, Dict, List, Optional

from beacon_client.http import Connection


class LoadTests:
    """`LoadTests(Connection(url, key))`; every method raises BeaconError on a non-2xx answer or no answer."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def register(
        self,
        *,
        plan: str = "default",
        target_host: str = "",
        host: str = "",
        mode: str = "single",
        users: int = 0,
        spawn_rate: float = 0.0,
        description: str = "",
        tags: Optional[Dict[str, str]] = None,
        checks: Optional[List[str]] = None,
        locust_version: str = "",
    ) -> str:
        """A new run; answers its uuid."""
        body = {
            "plan": plan,
            "target_host": target_host,
            "host": host,
            "mode": mode,
            "users": users,
            "spawn_rate": spawn_rate,
            "description": description,
            "tags": tags or {},
            "checks": checks or [],
            "locust_version": locust_version,
        }
        _, answer = self.connection.request("POST", "/api/v1/loadtests/", json_body=body)
        return str(answer["uuid"])

    def stats(
        self,
        run: str,
        *,
        interval: float,
        entries: List[Dict[str, Any]],
        total: Optional[Dict[str, Any]] = None,
        users: Optional[int] = None,
    ) -> None:
        """The requests of the last `interval` seconds, per endpoint in Locust's names (num_requests, num_failures,
        response_times); the portal turns them into rps and p50/p95/p99."""
        body: Dict[str, Any] = {"interval": interval, "entries": entries}
        if total is not None:
            body["total"] = total
        if users is not None:
            body["users"] = users
        self.connection.request("POST", f"/api/v1/loadtests/{_quote(run)}/stats", json_body=body)

    def commit(
        self,
        run: str,
        *,
        entries: List[Dict[str, Any]],
        total: Optional[Dict[str, Any]] = None,
        duration: Optional[float] = None,
        exit_code: Optional[int] = None,
        state: str = "completed",
        users: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Final results; answers the run's totals, each check's result, `failed_checks` and the page `url`."""
        body: Dict[str, Any] = {"entries": entries, "state": state, "exit_code": exit_code, "duration": duration}
        if total is not None:
            body["total"] = total
        if users is not None:
            body["users"] = users
        _, answer = self.connection.request("POST", f"/api/v1/loadtests/{_quote(run)}/commit", json_body=body)
        return dict(answer)

    def get(self, run: str) -> Dict[str, Any]:
        _, answer = self.connection.request("GET", f"/api/v1/loadtests/{_quote(run)}")
        return dict(answer)

    def compare(self, run: str, to: str = "baseline") -> Dict[str, Any]:
        """Per endpoint both runs' numbers and the change in %; `to` is 'baseline' or another run's uuid."""
        _, answer = self.connection.request("GET", f"/api/v1/loadtests/{_quote(run)}/compare", params={"to": to})
        return dict(answer)

    def pin_baseline(self, run: str) -> Dict[str, Any]:
        _, answer = self.connection.request("POST", f"/api/v1/loadtests/{_quote(run)}/baseline")
        return dict(answer)

    def list(self, *, state: Optional[str] = None, plan: Optional[str] = None) -> List[Dict[str, Any]]:
        _, answer = self.connection.request("GET", "/api/v1/loadtests/", params={"state": state, "plan": plan})
        return list(answer["results"] if isinstance(answer, dict) and "results" in answer else answer)


def _quote(run: str) -> str:
    return urllib.parse.quote(str(run), safe="")
