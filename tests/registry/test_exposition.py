"""The exposition joins label sets rendered at write time: one family per name across gauges and groups,
escaping intact, expired rows gone, and rows stored before the rendered column existed rendered by the
migration."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Organization
from registry import services
from registry.models import Gauge, PushGroup
from tests.registry.conftest import scrape

pytestmark = pytest.mark.django_db
TEXT = "text/plain; version=0.0.4"


def test_one_family_across_gauges_and_groups_with_escaping(gauges: APIClient, org: Organization) -> None:
    odd = 'back\\slash "quoted"\nnew line'
    services.gauge_create(organization=org, name="temp", labels={"site": odd}, description="Temperature")
    services.gauge_add(organization=org, name="temp", labels={"site": odd}, delta=21.5)
    body = '# HELP temp pushed help\n# TYPE temp gauge\ntemp{room="a"} 3\n'
    assert gauges.put("/metrics/job/batch/instance/h1", data=body.encode(), content_type=TEXT).status_code == 200
    body = '# TYPE temp gauge\ntemp{room="b"} 1e+21\n'
    assert gauges.put("/metrics/job/batch/instance/h2", data=body.encode(), content_type=TEXT).status_code == 200
    text = gauges.get("/metrics").content.decode()
    assert text.count("# TYPE temp gauge\n") == 1 and text.count("# HELP temp ") == 1
    assert "# HELP temp Temperature\n" in text  # the gauge's description wins over a pushed HELP
    samples = scrape(gauges)
    assert samples[("temp", (("site", odd),))] == 21.5
    assert samples[("temp", (("instance", "h1"), ("job", "batch"), ("room", "a")))] == 3
    assert samples[("temp", (("instance", "h2"), ("job", "batch"), ("room", "b")))] == 1e21
    assert samples[("beacon_registry_gauges", ())] == 1
    assert samples[("push_failure_time_seconds", (("instance", "h2"), ("job", "batch")))] == 0


def test_expired_rows_leave_the_exposition(gauges: APIClient, org: Organization) -> None:
    services.gauge_create(organization=org, name="kept", labels={}, description="")
    services.gauge_create(organization=org, name="gone", labels={}, description="")
    gauges.put("/metrics/job/old", data=b"old_metric 1\n", content_type=TEXT)
    past = timezone.now() - timedelta(seconds=1)
    Gauge.objects.filter(name="gone").update(expires_at=past)
    PushGroup.objects.update(expires_at=past)
    names = {name for name, _ in scrape(gauges)}
    assert "kept" in names and "gone" not in names and "old_metric" not in names
    assert "push_time_seconds" not in names and scrape(gauges)[("beacon_registry_gauges", ())] == 1


def test_migration_renders_rows_stored_before_the_column(gauges: APIClient, org: Organization) -> None:
    services.gauge_create(organization=org, name="g", labels={"b": "2", "a": 'x"y'}, description="")
    gauges.put("/metrics/job/j/instance/i", data=b"p 1\n", content_type=TEXT)
    Gauge.objects.update(rendered_labels="")  # as every row was before 0002
    PushGroup.objects.update(rendered_labels="")
    migration = importlib.import_module("registry.migrations.0002_rendered_labels")
    migration.render_existing(apps, None)
    assert Gauge.objects.get().rendered_labels == '{a="x\\"y",b="2"}'
    assert PushGroup.objects.get().rendered_labels == '{instance="i",job="j"}'
    samples = scrape(gauges)
    assert samples[("g", (("a", 'x"y'), ("b", "2")))] == 0
    assert ("push_time_seconds", (("instance", "i"), ("job", "j"))) in samples
