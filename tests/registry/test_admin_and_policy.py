"""Admin lists (value, last update, who; push time, TTL, expiry) and the organization's default group TTL."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Organization
from registry.models import PushGroup, RegistryPolicy

pytestmark = pytest.mark.django_db


def test_admin_lists_gauges_and_groups(gauges: Any) -> None:
    gauges.post("/api/v1/gauges/kills", data="kills", content_type="text/plain")
    gauges.put("/api/v1/gauges/kills", data="5", content_type="text/plain")
    gauges.put("/metrics/job/nightly?ttl=1h", data="x 1\n", content_type="text/plain")
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = staff.get("/admin/registry/gauge/").content.decode()
    assert "kills" in page and "5.0" in page
    groups = staff.get("/admin/registry/pushgroup/").content.decode()
    assert "nightly" in groups and "3600" in groups
    group = PushGroup.objects.get()
    assert staff.get(f"/admin/registry/pushgroup/{group.pk}/change/").status_code == 200


def test_organization_default_ttl_applies_without_a_parameter(org: Organization, gauges: Any, settings: Any) -> None:
    settings.REGISTRY_GROUP_TTL_SECONDS = 0
    gauges.put("/metrics/job/a", data="x 1\n", content_type="text/plain")
    assert PushGroup.objects.get(labels__job="a").expires_at is None
    RegistryPolicy.objects.create(organization=org, default_group_ttl_seconds=120)
    gauges.put("/metrics/job/b", data="x 1\n", content_type="text/plain")
    gauges.put("/metrics/job/c?ttl=5", data="x 1\n", content_type="text/plain")
    b, c = PushGroup.objects.get(labels__job="b"), PushGroup.objects.get(labels__job="c")
    assert (b.ttl_seconds, c.ttl_seconds) == (120, 5)
    assert 115 < (b.expires_at - b.pushed_at).total_seconds() <= 120  # type: ignore[operator]
    RegistryPolicy.objects.all().delete()
    settings.REGISTRY_GROUP_TTL_SECONDS = 60
    gauges.put("/metrics/job/d", data="x 1\n", content_type="text/plain")
    assert PushGroup.objects.get(labels__job="d").ttl_seconds == 60
