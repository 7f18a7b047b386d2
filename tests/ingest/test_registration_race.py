"""Concurrent first writes of new devices: real threads, each with its own PostgreSQL connection.

A barrier releases every writer of a round at once, so each round is a fresh "first write" race
for a device nobody has registered yet (the fleet roll-out case).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from accounts.models import Organization
from devices.models import Device

WRITERS = 8
ROUNDS = 12

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent connections to PostgreSQL (set TEST_DATABASE_URL)")


def _race(writes: list[Callable[[], Any]]) -> list[Any]:
    """Run the callables in their own threads, released together; their results in order."""
    barrier = threading.Barrier(len(writes))

    def run(write: Callable[[], Any]) -> Any:
        try:
            barrier.wait(timeout=30)
            return write()
        finally:
            connections.close_all()  # this thread's connection, so teardown can flush the tables

    with ThreadPoolExecutor(max_workers=len(writes)) as pool:
        return list(pool.map(run, writes))


def _post(key: str, body: str) -> Callable[[], tuple[int, dict[str, Any]]]:
    def write() -> tuple[int, dict[str, Any]]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        resp = client.post("/api/v1/metrics", data=body, content_type="text/plain")
        return resp.status_code, (resp.json() if resp.content else {})

    return write


def test_concurrent_first_writes_of_one_new_device_all_succeed(
    org: Organization, issue_key: Callable[..., str], read_points: Callable[..., Any]
) -> None:
    key = issue_key(org)
    now = time.time_ns()
    answers = []
    for round_no in range(ROUNDS):
        name = f"fleet-{round_no}"
        bodies = [f"boot,device={name} writer={w}i {now + w}" for w in range(WRITERS)]
        answers += _race([_post(key, body) for body in bodies])
    assert [status for status, _ in answers] == [204] * (ROUNDS * WRITERS), [a for a in answers if a[0] != 204][:3]
    for round_no in range(ROUNDS):
        name = f"fleet-{round_no}"
        assert Device.objects.filter(organization=org, slug=name).count() == 1
        stored = read_points(org, "boot", ["writer"], device=name)["writer"]
        assert sorted(value for _t, value in stored) == list(range(WRITERS))  # every writer's point


def test_concurrent_new_names_with_one_slug_give_one_device_and_clear_400s(
    org: Organization, issue_key: Callable[..., str], read_points: Callable[..., Any]
) -> None:
    key = issue_key(org)
    now = time.time_ns()
    for round_no in range(3):
        names = [f"Edge {round_no}", f"edge-{round_no}", f"EDGE {round_no}", f"Edge-{round_no}"]  # one slug
        measurement = f"m{round_no}"
        escaped = [name.replace(" ", "\\ ") for name in names]  # line protocol escapes spaces in tags
        writes = [_post(key, f"{measurement},device={escaped[w % 4]} v={w}i {now + w}") for w in range(8)]
        answers = _race(writes)
        devices = list(Device.objects.filter(organization=org, name__in=names).values_list("name", "slug"))
        assert len(devices) == 1 and devices[0][1] == f"edge-{round_no}"
        winner = devices[0][0]
        for w, (status, body) in enumerate(answers):
            if names[w % 4] == winner:
                assert status == 204, body
            else:
                assert status == 400, body
                assert f"clashes with the existing device {winner!r}" in body["message"]
                assert "nothing was written" in body["message"]
        stored = read_points(org, measurement, ["v"]).get("v", [])
        # Only the winner's writers stored points; every refused write stored nothing.
        assert sorted(v for _t, v in stored) == [w for w in range(8) if names[w % 4] == winner]
