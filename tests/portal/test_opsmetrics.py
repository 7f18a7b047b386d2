"""`/-/metrics` in process: the token, the labels (route templates, never paths, slugs or names), and the
counters each instrumented place moves. The multiprocess path under gunicorn is tests/portal/test_opsmetrics_live.py."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "ops-token-for-tests-0123456789"


def samples(client: Client | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = (client or Client()).get("/-/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.content.decode())
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_off_without_a_token_and_401_with_a_wrong_one(settings) -> None:
    settings.OPS_METRICS_TOKEN = ""
    off = Client().get("/-/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert off.status_code == 404 and "OPS_METRICS_TOKEN" in off.json()["message"]
    settings.OPS_METRICS_TOKEN = TOKEN
    for header in ("", f"Bearer {TOKEN}x", f"Token {TOKEN}", TOKEN):
        refused = Client().get("/-/metrics", HTTP_AUTHORIZATION=header)
        assert refused.status_code == 401, header
        assert refused.json()["code"] == "unauthorized" and refused["WWW-Authenticate"].startswith("Bearer")
    assert Client().post("/-/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_requests_by_route_template_and_ingest_counts(settings, api, org, device) -> None:
    settings.OPS_METRICS_TOKEN = TOKEN
    before = samples()
    for _ in range(3):
        assert api.get(f"/api/v1/devices/{device.slug}").status_code == 200
    assert api.get("/api/v1/devices/no-such-device").status_code == 404
    assert Client().get(f"/o/{org.slug}/no/such/page/{device.slug}").status_code == 404
    lines = "\n".join(f"cpu,device=edge-01 usage={i}" for i in range(5))
    assert api.post("/api/v2/write", data=lines, content_type="text/plain").status_code == 204
    assert api.post("/api/v2/write", data="cpu usage=", content_type="text/plain").status_code == 400
    after = samples()
    text = Client().get("/-/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/api/v1/devices/<str:slug>"
    assert delta("beacon_http_requests_total", route=route, method="GET", status="200") == 3
    assert delta("beacon_http_requests_total", route=route, method="GET", status="404") == 1
    assert delta("beacon_http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    assert delta("beacon_http_request_duration_seconds_count", route=route) == 4
    assert delta("beacon_http_requests_total", route="/api/v2/write", method="POST", status="204") == 1
    assert delta("beacon_ingest_points_total", outcome="stored") == 5
    assert delta("beacon_ingest_batches_total", outcome="stored") == 1
    assert delta("beacon_ingest_batches_total", outcome="invalid") == 1
    # Bounded labels only: no tenant's slug, device or path in the exposition.
    for tenant_value in (org.slug, device.slug, "no-such-device", "no/such/page"):
        assert tenant_value not in text


def test_rate_limited_answers_are_counted(settings, org, issue_key, client_for) -> None:
    settings.OPS_METRICS_TOKEN = TOKEN
    from accounts.models import ApiKey

    plaintext = issue_key(org, ["metrics:read"])
    ApiKey.objects.filter(key_id=plaintext.split("_")[1]).update(rate_limit="2/m")
    client = client_for(plaintext)
    before = value(samples(), "beacon_rate_limited_total", budget="key")
    codes = [client.get("/api/v1/devices/").status_code for _ in range(5)]
    assert codes == [200, 200, 429, 429, 429]
    assert value(samples(), "beacon_rate_limited_total", budget="key") - before == 3


@pytest.fixture
def celery_broker(filesystem_broker):
    return filesystem_broker  # the queue depth needs one broker; the celery tests cover both


def test_celery_queue_depth_is_asked_of_the_broker_at_scrape_time(settings, celery_producer) -> None:
    from portal.celery import app
    from tests.servers import free_port

    settings.OPS_METRICS_TOKEN = TOKEN
    settings.CELERY_BROKER_URL, settings.CELERY_BROKER_TRANSPORT_OPTIONS = (
        celery_producer.url,
        celery_producer.transport_options,
    )
    assert value(samples(), "beacon_celery_queue_depth", queue="celery") == 0  # nothing queued yet
    for _ in range(3):  # no worker runs: they wait in the queue
        app.send_task("portal.beat_heartbeat")
    found = samples()
    assert value(found, "beacon_celery_queue_depth", queue="celery") == 3
    assert value(found, "beacon_celery_broker_up") == 1
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down = samples()
    assert value(down, "beacon_celery_broker_up") == 0
    assert ("beacon_celery_queue_depth", (("queue", "celery"),)) not in down
