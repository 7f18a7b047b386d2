"""Cursor pagination (portal/api/pagination.py) on every list endpoint: stable while rows are inserted by
another connection, `{next, previous, results}`, and bad cursors or page sizes as the JSON 400."""

from __future__ import annotations

import random
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from rest_framework.generics import ListAPIView
from rest_framework.test import APIRequestFactory

from accounts.models import Organization
from devices import services
from devices.models import Device
from devices.serializers import DeviceSerializer
from quotas.models import GatewayService, Quota


def _walk(client, path: str, page_size: int, during_each_page=None) -> list[dict]:
    seen, url, params = [], path, {"page_size": page_size}
    while url:
        answer = client.get(url, params)
        assert answer.status_code == 200, answer.content
        body = answer.json()
        assert set(body) == {"next", "previous", "results"}
        seen.extend(body["results"])
        if during_each_page:
            during_each_page()
        url, params = body["next"], None
    return seen


@pytest.mark.django_db(transaction=True)
def test_devices_walk_sees_every_existing_row_once_while_another_connection_inserts(org, other_org, api):
    rng = random.Random(20)
    existing = sorted(f"dev-{rng.randrange(10**6):06d}" for _ in range(60))
    existing = sorted(set(existing))
    for name in existing:
        services.device_create(organization=org, name=name)
    services.device_create(organization=other_org, name="dev-000000-foreign")
    inserted: list[str] = []
    stop = threading.Event()

    def insert_concurrently() -> None:
        # Another thread, so another database connection, committing as the pages are read: names land
        # before and after the walk's position.
        try:
            while not stop.is_set():
                name = f"dev-{rng.randrange(10**6):06d}-new"
                services.device_create(organization=org, name=name)
                inserted.append(name)
                stop.wait(0.002)
        finally:
            connection.close()

    writer = threading.Thread(target=insert_concurrently)
    writer.start()
    pages = 0

    def count_page() -> None:
        nonlocal pages
        pages += 1
        while len(inserted) < pages * 3 and writer.is_alive():  # at least a few inserts between two pages
            stop.wait(0.001)

    try:
        seen = _walk(api, "/api/v1/devices/", page_size=7, during_each_page=count_page)
    finally:
        stop.set()
        writer.join()
    names = [row["name"] for row in seen]
    old = [n for n in names if not n.endswith("-new")]
    assert old == existing  # every pre-existing device exactly once, in order
    assert names == sorted(names) and len(set(names)) == len(names)  # nothing twice, new ones included
    assert pages >= 9 and len(inserted) >= 27
    assert Device.objects.filter(organization=org).count() == len(existing) + len(inserted)


@pytest.mark.django_db
def test_services_and_quotas_pages(org, api):
    shops = [
        GatewayService.objects.create(organization=org, name=f"svc-{i:02d}", kong_service=f"k{i}") for i in range(5)
    ]
    quotas = [Quota.objects.create(service=s, period="monthly", limit_bytes=1000) for s in shops]
    walked = _walk(api, "/api/v1/services/", page_size=2)
    assert [s["name"] for s in walked] == [f"svc-{i:02d}" for i in range(5)]
    assert [q["id"] for q in _walk(api, "/api/v1/quotas/", page_size=2)] == [q.id for q in quotas]
    first = api.get("/api/v1/quotas/", {"page_size": 3}).json()
    second = api.get(first["next"]).json()
    assert first["previous"] is None and [q["id"] for q in second["results"]] == [quotas[3].id, quotas[4].id]
    back = api.get(second["previous"]).json()
    assert [q["id"] for q in back["results"]] == [q.id for q in quotas[:3]]
    assert second["next"] is None


@pytest.mark.django_db
def test_default_order_is_newest_first_by_key(org: Organization) -> None:
    """A list view that names no `ordering` (a new app's generic list view) gets `-pk`."""
    for i in range(5):
        services.device_create(organization=org, name=f"d{i}")

    class Plain(ListAPIView):  # type: ignore[type-arg]
        authentication_classes: list[type] = []
        permission_classes: list[type] = []
        serializer_class = DeviceSerializer

        def get_queryset(self):  # type: ignore[no-untyped-def]
            from devices.selectors import device_list

            return device_list(organization=org)

    factory = APIRequestFactory()
    body = Plain.as_view()(factory.get("/x", {"page_size": 3})).data
    assert [d["name"] for d in body["results"]] == ["d4", "d3", "d2"]
    cursor = parse_qs(urlsplit(body["next"]).query)["cursor"][0]
    rest = Plain.as_view()(factory.get("/x", {"page_size": 3, "cursor": cursor})).data
    assert [d["name"] for d in rest["results"]] == ["d1", "d0"] and rest["next"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "not-a-cursor"}, "parameter 'cursor': not a cursor this API issued"),
        ({"page_size": "ten"}, "parameter 'page_size': 'ten' is not an integer"),
        ({"page_size": "0"}, "parameter 'page_size': 0 is outside 1..1000"),
        ({"page_size": "1001"}, "parameter 'page_size': 1001 is outside 1..1000"),
    ],
)
def test_bad_cursor_or_page_size_is_a_json_400(api, device, params, message) -> None:
    for path in ("/api/v1/devices/", "/api/v1/services/", "/api/v1/quotas/"):
        answer = api.get(path, params)
        assert answer.status_code == 400, (path, answer.content)
        assert answer["Content-Type"] == "application/json"
        assert answer.json()["code"] == "invalid" and answer.json()["message"].startswith(message)
