"""The same pushes sent to Beacon and to Debian's real `prometheus-pushgateway` (started here on a free port, no
persistence file): the same status class for each, then the same samples in both expositions (push times
compared as set / never, Beacon's own beacon_registry_* and Pushgateway's go_/process_ metrics left out, as
only pushed series carry a `job` label). Then the differences docs/registry.md lists, each asserted as
documented."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.conftest import require_server
from tests.servers import free_port, stop_process, wait_for_health

pytestmark = pytest.mark.django_db
PUSHGATEWAY = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
TEXT = "text/plain; version=0.0.4"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], object]


class Pushgateway:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def send(self, method: str, path: str, body: str = "") -> int:
        request = urllib.request.Request(self.url + path, data=body.encode(), method=method)
        request.add_header("Content-Type", TEXT)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def exposition(self) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[Pushgateway]:
    require_server(os.access(PUSHGATEWAY, os.X_OK), "Debian's prometheus-pushgateway is not installed")
    port = free_port()
    log = tmp_path / "pushgateway.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=", "--log.level=warn"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    gateway = Pushgateway(process, port)
    try:
        wait_for_health(gateway.url, process, log, timeout=15, path="/-/ready")
        yield gateway
    finally:
        stop_process(process)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def beacon_send(client: APIClient, method: str, path: str, body: str = "") -> int:
    return int(getattr(client, method.lower())(path, data=body.encode(), content_type=TEXT).status_code)


def pushed_samples(text: str) -> tuple[Samples, dict[str, str]]:
    """Samples of pushed series (those with a job label) and their families' types; push times as
    "set"/"never", since the two servers stamp them a few milliseconds apart."""
    samples: Samples = {}
    types: dict[str, str] = {}
    now = time.time()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if "job" not in s.labels:
                continue
            value: object = s.value
            if s.name in ("push_time_seconds", "push_failure_time_seconds"):
                assert s.value == 0 or abs(s.value - now) < 120, (s.name, s.labels, s.value)
                value = "set" if s.value else "never"
            samples[(s.name, tuple(sorted(s.labels.items())))] = value
            types[family.name] = family.type
    return samples, types


# (method, path, body, expected status class): every Pushgateway rule of docs/registry.md.
SEQUENCE = [
    ("PUT", "/metrics/job/batch/instance/host1", 'g{job="other",a="1"} 3\n', 2),  # URL labels win
    ("PUT", "/metrics/job/batch2", 'g{a="2"} 5\n', 2),  # instance="" is added
    ("PUT", "/metrics/job/i", 'y{instance="body"} 1\n', 2),  # ...unless the sample has its own
    ("POST", "/metrics/job/j", "a 1\nb 2\n", 2),
    ("POST", "/metrics/job/j", "b 3\nc 4\n", 2),  # POST replaces only the names it carries
    ("PUT", "/metrics/job/k", "a 1\nb 2\n", 2),
    ("PUT", "/metrics/job/k", "c 5\n", 2),  # PUT replaces the group
    ("PUT", f"/metrics/job@base64/{b64('job/with/slash')}/path@base64/{b64('/var/tmp')}/empty@base64/=", "g64 1\n", 2),
    ("PUT", "/metrics/job/emp", "e 1\n", 2),
    ("PUT", "/metrics/job/emp", "", 2),  # an empty PUT empties the group, push_time_seconds still set
    ("PUT", "/metrics/job/ts", "g 2 1700000000000\n", 4),  # timestamps refused, failure time set
    ("PUT", "/metrics/job/ta", "# HELP m A gauge.\n# TYPE m gauge\nm 1\n", 2),
    ("PUT", "/metrics/job/tb", "# TYPE m counter\nm 2\n", 4),  # a name keeps its type across groups
    ("PUT", "/metrics/job/h", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', 2),
    ("PUT", "/metrics/job/h2", "h_count 1\n", 4),  # collides with the histogram's series
    ("PUT", "/metrics/job/d/instance/3", 'x{instance="1"} 1\nx{instance="2"} 2\n', 4),  # one series twice
    ("PUT", "/metrics/job/d", "# TYPE cnt counter\ncnt 7\n", 2),
    ("DELETE", "/metrics/job/batch2", "", 2),  # 202
    ("DELETE", "/metrics/job/never-pushed", "", 2),  # 202 as well
]


def test_same_pushes_same_answers_same_exposition(gauges: APIClient, pushgateway: Pushgateway) -> None:
    for method, path, body, expected in SEQUENCE:
        ours, theirs = beacon_send(gauges, method, path, body), pushgateway.send(method, path, body)
        assert (ours // 100, theirs // 100) == (expected, expected), (method, path, ours, theirs)
        if method == "DELETE":
            assert ours == theirs == 202
    status, text = pushgateway.exposition()
    assert status == 200, text[:500]
    theirs, their_types = pushed_samples(text)
    response = gauges.get("/metrics")
    assert response.status_code == 200
    ours, our_types = pushed_samples(response.content.decode())
    assert ours == theirs
    assert our_types == their_types
    # The comparison is not vacuous: the rules above are visible in both.
    labels = (("a", "1"), ("instance", "host1"), ("job", "batch"))
    assert ours[("g", labels)] == 3
    assert ours[("y", (("instance", "body"), ("job", "i")))] == 1
    assert [ours.get((n, (("instance", ""), ("job", "j")))) for n in "abc"] == [1, 3, 4]
    assert ("a", (("instance", ""), ("job", "k"))) not in ours
    assert ours[("g64", (("empty", ""), ("instance", ""), ("job", "job/with/slash"), ("path", "/var/tmp")))] == 1
    assert ours[("push_time_seconds", (("instance", ""), ("job", "emp")))] == "set"
    assert not any(name == "e" for name, _ in ours)
    for job in ("ts", "tb", "h2"):
        assert ours[("push_failure_time_seconds", (("instance", ""), ("job", job)))] == "set", job
        assert ours[("push_time_seconds", (("instance", ""), ("job", job)))] == "never", job
    assert ours[("push_failure_time_seconds", (("instance", "3"), ("job", "d")))] == "set"
    assert not any(dict(key)["job"] == "batch2" for _, key in ours)
    assert our_types["m"] == "gauge" and our_types["h"] == "histogram" and our_types["cnt"] == "counter"


def test_documented_differences(gauges: APIClient, pushgateway: Pushgateway) -> None:
    def both(method: str, path: str, body: str = "") -> tuple[int, int]:
        return beacon_send(gauges, method, path, body), pushgateway.send(method, path, body)

    assert both("PUT", "/metrics/job/ta", "# TYPE m gauge\nm 1\n") == (200, 200)
    assert both("DELETE", "/metrics/job/ta") == (202, 202)
    # Pushgateway checks types against what is stored now; Beacon keeps a name's first type until the wipe
    # (the type check must not read other groups).
    assert both("PUT", "/metrics/job/tc", "# TYPE m counter\nm 3\n") == (400, 200)
    assert gauges.put("/api/v1/admin/wipe").status_code == 202
    assert beacon_send(gauges, "PUT", "/metrics/job/tc", "# TYPE m counter\nm 3\n") == 200  # released
    # push_time_seconds is Beacon's to write; Pushgateway accepts it and overwrites it.
    assert both("PUT", "/metrics/job/pt", "push_time_seconds 5\n") == (400, 200)
    # `/job/dup` and `/job/dup/instance/` are one group in Beacon. In Pushgateway they are two groups with the
    # same series: the second push is refused, the failure it records duplicates the first group's
    # push_failure_time_seconds, and from then on every scrape of the gateway fails.
    assert both("PUT", "/metrics/job/dup", "x 1\n") == (200, 200)
    assert both("PUT", "/metrics/job/dup/instance/", "x 2\n") == (200, 400)
    assert pushgateway.exposition()[0] == 500
    response = gauges.get("/metrics")
    ours, _ = pushed_samples(response.content.decode())
    assert ours[("x", (("instance", ""), ("job", "dup")))] == 2
