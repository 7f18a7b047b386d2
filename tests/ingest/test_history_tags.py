"""GET /api/v1/history with tag.<name> filters and group_by, through the real endpoint on both store backends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from accounts.models import Organization
from devices import services as device_services
from devices.models import Device
from ingest.history import MAX_GROUP_BY, MAX_TAG_VALUES
from ingest.lineprotocol import format_line

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["sql", "influx"])
def backend(request: pytest.FixtureRequest, db: None) -> Iterator[str]:
    if request.param == "influx":
        request.getfixturevalue("influx_backend")
    yield request.param


def write(api: APIClient, lines: list[str]) -> None:
    response = api.post("/api/v2/write?precision=s", data="\n".join(lines).encode(), content_type="text/plain")
    assert response.status_code == 204, response.content


def history(api: APIClient, query: list[tuple[str, str]]) -> Any:
    # A raw query string: tag.path=/ twice is two values of one parameter, as a browser would send it.
    return api.get("/api/v1/history?" + urlencode([("device", "edge-01"), ("step", "1m"), *query]))


def values(body: dict[str, Any]) -> list[tuple[str, dict[str, str], list[float]]]:
    return [(s["field"], s["tags"], [p[1] for p in s["points"]]) for s in body["series"]]


def _two_mounts(api: APIClient, device: str = "edge-01", used: tuple[float, float] = (40, 90)) -> None:
    at = (int(time.time()) // 60 - 2) * 60  # inside one 1-minute bucket of the last hour
    write(
        api,
        [
            f"disk,device={device},path=/,fstype=ext4 used_percent={used[0]} {at}",
            f"disk,device={device},path=/data,fstype=xfs used_percent={used[1]} {at}",
        ],
    )


def test_two_mounts_read_back_per_mount_not_as_their_mean(api: APIClient, device: Device, backend: str) -> None:
    _two_mounts(api)
    disk = [("measurement", "disk"), ("field", "used_percent")]
    unchanged = history(api, disk)
    assert unchanged.status_code == 200, unchanged.content
    assert values(unchanged.json()) == [("used_percent", {}, [65.0])]  # the old answer, same shape
    grouped = history(api, [*disk, ("group_by", "path")])
    assert grouped.status_code == 200, grouped.content
    assert values(grouped.json()) == [
        ("used_percent", {"path": "/"}, [40.0]),
        ("used_percent", {"path": "/data"}, [90.0]),
    ]
    assert values(history(api, [*disk, ("tag.path", "/")]).json()) == [("used_percent", {}, [40.0])]
    either = history(api, [*disk, ("tag.path", "/"), ("tag.path", "/data"), ("group_by", "path")]).json()
    assert [s["tags"]["path"] for s in either["series"]] == ["/", "/data"]
    both = history(api, [*disk, ("tag.path", "/data"), ("tag.fstype", "xfs")]).json()
    assert values(both) == [("used_percent", {}, [90.0])]
    assert history(api, [*disk, ("tag.path", "/data"), ("tag.fstype", "ext4")]).json()["series"] == []
    by_two = history(api, [*disk, ("group_by", "fstype"), ("group_by", "path")]).json()
    assert [s["tags"] for s in by_two["series"]] == [
        {"fstype": "ext4", "path": "/"},
        {"fstype": "xfs", "path": "/data"},
    ]
    missing = history(api, [*disk, ("group_by", "nosuchtag")]).json()
    assert values(missing) == [("used_percent", {"nosuchtag": ""}, [65.0])]


def test_filters_and_groups_stay_inside_the_organization_and_device(
    org: Organization,
    other_org: Organization,
    device: Device,
    issue_key: Callable,
    client_for: Callable,
    backend: str,
) -> None:
    ours, theirs = client_for(issue_key(org)), client_for(issue_key(other_org))
    device_services.device_create(organization=other_org, name="edge-01")
    device_services.device_create(organization=org, name="edge-02")
    _two_mounts(ours)
    _two_mounts(theirs, used=(1, 2))
    _two_mounts(ours, device="edge-02", used=(5, 6))
    disk = [("measurement", "disk"), ("field", "used_percent"), ("group_by", "path")]
    assert [v for _, _, v in values(history(ours, disk).json())] == [[40.0], [90.0]]
    assert [v for _, _, v in values(history(theirs, disk).json())] == [[1.0], [2.0]]
    hostile = history(ours, [*disk, ("tag.path", "/' OR 'a'='a"), ("tag.path", '/") OR ("beacon_tenant"=\'x')])
    assert hostile.status_code == 200 and hostile.json()["series"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ([("tag.beacon_tenant", "1")], "parameter 'tag.beacon_tenant': tag 'beacon_tenant' cannot be filtered"),
        ([("group_by", "beacon_tenant")], "parameter 'group_by': tag 'beacon_tenant' cannot be filtered or grouped"),
        (
            [("tag.device", "edge-02")],
            "parameter 'tag.device': tag 'device' cannot be filtered or grouped by; the device",
        ),
        ([("group_by", "device")], "parameter 'group_by': tag 'device' cannot"),
        ([("tag.", "x")], "parameter 'tag.': a tag name is needed"),
        ([("tag.path", "")], "parameter 'tag.path': an empty value matches nothing"),
        ([("tag.path", "a\nb")], "parameter 'tag.path': a tag value has no newline"),
        ([("tag.pa\tth", "a")], "parameter 'tag.pa\\tth': a tag name has no newline"),
        ([("group_by", "")], "parameter 'group_by'"),
        ([("group_by", "path"), ("group_by", "path")], "parameter 'group_by': ['path', 'path'] names a tag twice"),
        (
            [("group_by", f"t{i}") for i in range(MAX_GROUP_BY + 1)],
            f"parameter 'group_by': at most {MAX_GROUP_BY} tags",
        ),
        ([("tag.path", str(i)) for i in range(MAX_TAG_VALUES + 1)], f"more than {MAX_TAG_VALUES} tag values"),
    ],
)
def test_bad_tag_parameters_are_named(
    api: APIClient, device: Device, query: list[tuple[str, str]], message: str
) -> None:
    response = history(api, [("field", "used_percent"), ("measurement", "disk"), *query])
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert message in response.json()["message"]


def test_more_groups_than_the_cap_is_a_400_naming_group_by(
    api: APIClient, device: Device, backend: str, settings: Any
) -> None:
    at = int(time.time()) - 60
    write(
        api, [format_line("net", {"device": "edge-01", "interface": f"eth{i}"}, {"rx": float(i)}, at) for i in range(4)]
    )
    query = [("measurement", "net"), ("field", "rx"), ("group_by", "interface")]
    settings.HISTORY_MAX_GROUPS = 4
    assert [s["tags"]["interface"] for s in history(api, query).json()["series"]] == ["eth0", "eth1", "eth2", "eth3"]
    settings.HISTORY_MAX_GROUPS = 3
    refused = history(api, query)
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "invalid",
        "message": "parameter 'group_by': 'interface' gives more than 3 series per field in this range; the limit "
        "is HISTORY_MAX_GROUPS; narrow it with tag.<name>=<value> or a shorter range",
    }
    narrowed = history(api, [*query, ("tag.interface", "eth1"), ("tag.interface", "eth3")])
    assert values(narrowed.json()) == [("rx", {"interface": "eth1"}, [1.0]), ("rx", {"interface": "eth3"}, [3.0])]
