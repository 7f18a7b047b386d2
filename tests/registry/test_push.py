"""Pushgateway semantics (checked against pushgateway's handler/push.go and storage/diskmetricstore.go, and
Debian's prometheus-pushgateway 1.5.1): grouping key, URL labels win, @base64, PUT vs POST, DELETE 202,
timestamps refused, one type per name, push_time_seconds / push_failure_time_seconds."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from registry.models import MetricType, PushGroup
from tests.registry.conftest import families, scrape

pytestmark = pytest.mark.django_db
TEXT = "text/plain; version=0.0.4"


def push(client: APIClient, method: str, path: str, body: str = "") -> tuple[int, str]:
    response = getattr(client, method)(path, data=body.encode(), content_type=TEXT)
    return response.status_code, response.content.decode()


def test_url_labels_win_and_instance_is_added(gauges: APIClient) -> None:
    assert push(gauges, "put", "/metrics/job/batch/instance/host1", 'g{job="other",a="1"} 3\n')[0] == 200
    assert push(gauges, "put", "/metrics/job/batch2", 'g{a="2"} 5\n')[0] == 200
    samples = scrape(gauges)
    assert samples[("g", (("a", "1"), ("instance", "host1"), ("job", "batch")))] == 3
    assert samples[("g", (("a", "2"), ("instance", ""), ("job", "batch2")))] == 5
    assert samples[("push_failure_time_seconds", (("instance", "host1"), ("job", "batch")))] == 0
    assert abs(samples[("push_time_seconds", (("instance", "host1"), ("job", "batch")))] - time.time()) < 60
    # One family across groups.
    text = gauges.get("/metrics").content.decode()
    assert text.count("# TYPE g untyped") == 1


def test_base64_values(gauges: APIClient) -> None:
    path = base64.urlsafe_b64encode(b"/var/tmp").decode().rstrip("=")
    job = base64.urlsafe_b64encode(b"job/with/slash").decode()
    assert push(gauges, "put", f"/metrics/job@base64/{job}/path@base64/{path}/empty@base64/=", "g 1\n")[0] == 200
    group = PushGroup.objects.get()
    assert group.labels == {"job": "job/with/slash", "path": "/var/tmp", "empty": "", "instance": ""}
    for bad in ("/metrics/job/j/path@base64/%25%25", "/metrics/job@base64/%21%21", "/metrics/job@base64/="):
        status, _ = push(gauges, "put", bad, "g 2\n")
        assert status == 400, bad
    assert PushGroup.objects.count() == 1


def test_bad_grouping_keys(gauges: APIClient) -> None:
    for path, message in [
        ("/metrics/job/j/a", "odd number"),
        ("/metrics/job/j/__x/1", "improper label name"),
        ("/metrics/job/j/a-b/1", "improper label name"),
        ("/metrics/job/j/job/k", "job"),
        ("/metrics/job/j/a/1/a/2", "twice"),
        ("/metrics/job/j/" + "/".join(f"l{i}/v" for i in range(40)), "REGISTRY_MAX_LABELS"),
        ("/metrics/job/j/a/" + "x" * 1100, "REGISTRY_MAX_LABEL_VALUE_LENGTH"),
    ]:
        status, body = push(gauges, "put", path, "g 1\n")
        assert status == 400 and message in body, (path, body)
    assert not PushGroup.objects.exists() and not MetricType.objects.exists()


def test_put_replaces_post_merges_empty_put_empties(gauges: APIClient) -> None:
    push(gauges, "put", "/metrics/job/j", "a 1\nb 2\n")
    push(gauges, "post", "/metrics/job/j", "b 3\nc 4\n")
    samples = scrape(gauges)
    assert [samples[(n, (("instance", ""), ("job", "j")))] for n in "abc"] == [1, 3, 4]
    push(gauges, "put", "/metrics/job/j", "c 5\n")
    samples = scrape(gauges)
    assert ("a", (("instance", ""), ("job", "j"))) not in samples
    assert samples[("c", (("instance", ""), ("job", "j")))] == 5
    before = PushGroup.objects.get().pushed_at
    assert push(gauges, "put", "/metrics/job/j", "")[0] == 200
    group = PushGroup.objects.get()
    assert group.families == {} and group.pushed_at > before  # type: ignore[operator]
    assert ("push_time_seconds", (("instance", ""), ("job", "j"))) in scrape(gauges)


def test_delete_answers_202_and_wipe(gauges: APIClient) -> None:
    push(gauges, "put", "/metrics/job/j/instance/a", "x 1\n")
    push(gauges, "put", "/metrics/job/j/instance/b", "x 2\n")
    assert gauges.delete("/metrics/job/j/instance/a").status_code == 202
    assert gauges.delete("/metrics/job/never-pushed").status_code == 202
    assert list(PushGroup.objects.values_list("labels", flat=True)) == [{"job": "j", "instance": "b"}]
    wiped = gauges.put("/api/v1/admin/wipe")
    assert (wiped.status_code, wiped.json()) == (202, {"deleted_groups": 1})
    assert not PushGroup.objects.exists() and not MetricType.objects.exists()  # x's type is free again
    assert push(gauges, "put", "/metrics/job/j", "# TYPE x counter\nx 1\n")[0] == 200


def test_timestamps_refused_and_failure_time_set(gauges: APIClient) -> None:
    push(gauges, "put", "/metrics/job/j", "g 1\n")
    status, body = push(gauges, "put", "/metrics/job/j", "g 2 1700000000000\n")
    assert status == 400 and "timestamps" in body
    samples = scrape(gauges)
    assert samples[("g", (("instance", ""), ("job", "j")))] == 1  # unchanged
    assert samples[("push_failure_time_seconds", (("instance", ""), ("job", "j")))] > 0


def test_type_conflict_is_400_and_the_next_scrape_parses(gauges: APIClient) -> None:
    assert push(gauges, "put", "/metrics/job/a", "# TYPE m gauge\nm 1\n")[0] == 200
    status, body = push(gauges, "put", "/metrics/job/b", "# TYPE m counter\nm 2\n")
    assert status == 400 and "already a gauge" in body
    status, body = push(gauges, "put", "/metrics/job/a", "# TYPE m untyped\nm 2\n")
    assert status == 400
    assert families(gauges)["m"] == "gauge"
    samples = scrape(gauges)
    assert samples[("m", (("instance", ""), ("job", "a")))] == 1
    assert samples[("push_failure_time_seconds", (("instance", ""), ("job", "b")))] > 0
    assert samples[("push_time_seconds", (("instance", ""), ("job", "b")))] == 0  # never succeeded


def test_histogram_suffix_collision_and_duplicates(gauges: APIClient) -> None:
    histogram = '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'
    assert push(gauges, "put", "/metrics/job/a", histogram)[0] == 200
    status, body = push(gauges, "put", "/metrics/job/b", "h_count 1\n")
    assert status == 400 and "collides" in body
    status, body = push(gauges, "put", "/metrics/job/c/instance/3", 'x{instance="1"} 1\nx{instance="2"} 2\n')
    assert status == 400 and "second sample" in body
    samples = scrape(gauges)
    assert samples[("h_count", (("instance", ""), ("job", "a")))] == 1


def test_bad_bodies(gauges: APIClient) -> None:
    for body, status in [
        ("bad line here\n", 400),
        ('g{a="1" 1\n', 400),
        ("push_time_seconds 1\n", 400),
        ("# TYPE g info\ng_info 1\n", 400),
    ]:
        assert push(gauges, "put", "/metrics/job/j", body)[0] == status, body
    bomb = "g{" + ",".join(f'l{i}="{"x" * 10}"' for i in range(40)) + "} 1\n"
    status, body = push(gauges, "put", "/metrics/job/j", bomb)
    assert status == 400 and "REGISTRY_MAX_LABELS" in body
    status, body = push(gauges, "put", "/metrics/job/j", 'g{a="' + "x" * 2000 + '"} 1\n')
    assert status == 400 and "REGISTRY_MAX_LABEL_VALUE_LENGTH" in body
    protobuf = gauges.put(
        "/metrics/job/j",
        data=b"\x0a\x01g",
        content_type=("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"),
    )
    assert protobuf.status_code == 415 and "text format" in protobuf.json()["message"]
    assert gauges.put("/metrics/job/j", data=b"\xff\xfe", content_type=TEXT).status_code == 400
    many = "".join(f'g{{i="{i}"}} 1\n' for i in range(10_001))
    assert gauges.put("/metrics/job/j", data=many, content_type=TEXT).status_code == 413
    assert not PushGroup.objects.exists() and not MetricType.objects.exists()


def test_huge_body_is_413(gauges: APIClient, settings: object) -> None:
    settings.REGISTRY_PUSH_MAX_BYTES = 2048  # type: ignore[attr-defined]
    response = gauges.put("/metrics/job/j", data=b"g 1\n" * 1000, content_type=TEXT)
    assert response.status_code == 413 and "REGISTRY_PUSH_MAX_BYTES" in response.json()["message"]
    assert not PushGroup.objects.exists()


def test_push_needs_write_scope_and_scrape_needs_scrape(org, issue_key, client_for, gauges: APIClient) -> None:  # type: ignore[no-untyped-def]
    scraper = client_for(issue_key(org, ["scrape"]))
    assert push(scraper, "put", "/metrics/job/j", "g 1\n")[0] == 403
    assert push(gauges, "put", "/metrics/job/j", "g 1\n")[0] == 200
    assert b'g{instance="",job="j"} 1.0' in scraper.get("/metrics").content
    assert APIClient().get("/metrics").status_code == 401
    basic = APIClient()
    token = base64.b64encode(f"anyone:{issue_key(org, ['scrape'])}".encode()).decode()
    basic.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    assert basic.get("/metrics").status_code == 200


def test_ttl(gauges: APIClient) -> None:
    assert push(gauges, "put", "/metrics/job/short?ttl=1", "g 1\n")[0] == 200
    assert push(gauges, "put", "/metrics/job/long?ttl=1h", "g 2\n")[0] == 200
    assert push(gauges, "put", "/metrics/job/bad?ttl=soon", "g 2\n")[0] == 400
    group = PushGroup.objects.get(labels__job="long")
    assert group.ttl_seconds == 3600 and group.expires_at is not None
    time.sleep(1.2)
    samples = scrape(gauges)
    assert ("g", (("instance", ""), ("job", "short"))) not in samples
    assert samples[("g", (("instance", ""), ("job", "long")))] == 2
    from registry.services import registry_prune

    assert registry_prune() == {"gauges": 0, "groups": 1}
    assert list(PushGroup.objects.values_list("labels__job", flat=True)) == ["long"]


@pytest.mark.parametrize("asynchronous", [True, False])
def test_steady_state_push_with_and_without_async_commit(gauges: APIClient, settings: Any, asynchronous: bool) -> None:
    settings.REGISTRY_PUSH_ASYNC_COMMIT = asynchronous
    assert push(gauges, "put", "/metrics/job/j", "# TYPE q gauge\nq 1\n")[0] == 200  # claims q's type
    assert push(gauges, "put", "/metrics/job/j", "# TYPE q gauge\nq 2\n")[0] == 200  # the one-statement path
    assert scrape(gauges)[("q", (("instance", ""), ("job", "j")))] == 2
    status, body = push(gauges, "put", "/metrics/job/j", "# TYPE q counter\nq 3\n")
    assert status == 400 and "already a gauge" in body
    assert scrape(gauges)[("q", (("instance", ""), ("job", "j")))] == 2
