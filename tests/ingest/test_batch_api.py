"""Large batches through /api/v2/write (the store's COPY path on Postgres): all or nothing, idempotent
overwrite, one organization's points never another's."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Organization
from devices.models import Device
from timeseries.models import DataPoint, Series

pytestmark = pytest.mark.django_db

LINES = 3000


def _body(start_s: int, *, scale: float = 1.0, bad_line: int | None = None, bad: str = "") -> bytes:
    lines = [f"edge,device=dev-{i % 10} cpu={i * scale},n={i}i {start_s + i // 10}" for i in range(LINES)]
    if bad_line is not None:
        lines[bad_line - 1] = bad
    return "\n".join(lines).encode()


def _post(client: Any, body: bytes) -> Any:
    return client.post("/api/v2/write?precision=s", data=body, content_type="text/plain")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("edge,device=dev-3 cpu=1.5,n=2.5 1", "line 2500: "),  # n is an integer earlier in this batch
        ("edge,device=dev-3 cpu=", "line 2500, column 23: missing value for field"),
    ],
    ids=["type-conflict", "syntax"],
)
def test_one_bad_line_refuses_the_whole_batch(api: Any, org: Organization, bad: str, message: str) -> None:
    start = int(time.time()) - 3600
    response = _post(api, _body(start, bad_line=2500, bad=bad.replace(" 1", f" {start}")))
    assert response.status_code == 400, response.content
    assert response.json()["line"] == 2500
    assert response.json()["message"].startswith(message), response.json()
    assert DataPoint.objects.count() == 0 and Series.objects.count() == 0
    assert not Device.objects.filter(organization=org).exists()  # the devices it named were not registered


def test_batch_rewritten_overwrites_and_stays_one_copy_per_value(
    api: Any, org: Organization, read_points: Callable[..., dict[str, list[tuple[int, Any]]]]
) -> None:
    start = int(time.time()) - 3600
    assert _post(api, _body(start)).status_code == 204
    assert DataPoint.objects.count() == 2 * LINES
    assert sorted(Device.objects.filter(organization=org).values_list("name", flat=True)) == [
        f"dev-{i}" for i in range(10)
    ]
    assert _post(api, _body(start, scale=2.0)).status_code == 204  # same series and times: overwrite
    assert _post(api, _body(start, scale=2.0)).status_code == 204  # and again: idempotent
    assert DataPoint.objects.count() == 2 * LINES
    points = read_points(org, "edge", ["cpu", "n"], device="dev-7")
    assert points["cpu"][:2] == [(start * 10**9, 14.0), ((start + 1) * 10**9, 34.0)]
    assert points["n"][:2] == [(start * 10**9, 7), ((start + 1) * 10**9, 17)]


def test_same_batch_from_two_organizations_stays_apart(
    org: Organization,
    other_org: Organization,
    issue_key: Callable[..., str],
    client_for: Callable[[str], Any],
    read_points: Callable[..., dict[str, list[tuple[int, Any]]]],
) -> None:
    start = int(time.time()) - 3600
    assert _post(client_for(issue_key(org, ["metrics:write"])), _body(start)).status_code == 204
    assert _post(client_for(issue_key(other_org, ["metrics:write"])), _body(start, scale=-1.0)).status_code == 204
    assert DataPoint.objects.count() == 4 * LINES  # same tags and times, but two tenants: two series each
    assert read_points(org, "edge", ["cpu"], device="dev-1")["cpu"][0] == (start * 10**9, 1.0)
    assert read_points(other_org, "edge", ["cpu"], device="dev-1")["cpu"][0] == (start * 10**9, -1.0)
