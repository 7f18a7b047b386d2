"""The admin: runs listed, a run's page, and "Pin as baseline" through the same service as the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from loadtests.models import LoadTestRun
from tests.loadtests.conftest import commit, entry, register

pytestmark = pytest.mark.django_db


def test_list_detail_and_pin_as_baseline(writer: Any) -> None:
    done = register(writer, plan="admin-plan")
    commit(writer, done, [entry("/", "GET", {10: 3})])
    running = register(writer, plan="admin-plan")
    admin = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/loadtests/loadtestrun/")
    assert listing.status_code == 200 and done in listing.content.decode() and running in listing.content.decode()
    pk = LoadTestRun.objects.get(uuid=done).pk
    assert client.get(f"/admin/loadtests/loadtestrun/{pk}/change/").status_code == 200
    ids = list(LoadTestRun.objects.values_list("pk", flat=True))
    answer = client.post(
        "/admin/loadtests/loadtestrun/", {"action": "pin_as_baseline", "_selected_action": ids}, follow=True
    )
    text = answer.content.decode()
    assert "is now the baseline of plan" in text and "only a completed run can be a baseline" in text
    assert [str(u) for u in LoadTestRun.objects.filter(is_baseline=True).values_list("uuid", flat=True)] == [done]
