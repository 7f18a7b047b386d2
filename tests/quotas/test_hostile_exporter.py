"""A malicious exporter on loopback: endless body, 10^6 series, label bombs, slow drip.

Each scrape must end quickly with the reason recorded on the target, count nothing (no usage row, no
snapshot, no stored point), and leave the process able to scrape an honest node right after.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from quotas import scraping
from quotas.models import CounterSnapshot, GatewayService, ScrapeTarget, UsagePeriod
from timeseries.models import DataPoint

pytestmark = pytest.mark.django_db

LINE = 'kong_bandwidth_bytes{{service="shop-svc",route="r{i}",direction="egress"}} 1\n'


def _endless(handler: BaseHTTPRequestHandler) -> None:
    """Announces 1 GiB and sends until the client hangs up."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(1 << 30))
    handler.end_headers()
    block = b"# " + b"x" * 65_000 + b"\n"
    while True:
        handler.wfile.write(block)


@functools.cache
def _million_body() -> bytes:
    return "".join(LINE.format(i=i) for i in range(1_000_000)).encode()


def _million_series(handler: BaseHTTPRequestHandler) -> None:
    body = _million_body()
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _label_bomb(handler: BaseHTTPRequestHandler) -> None:
    labels = ",".join(f'l{i}="{"v" * 1000}"' for i in range(500))
    body = f'kong_bandwidth_bytes{{service="{"s" * 100_000}",route="r",direction="egress",{labels}}} 5\n'.encode()
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _slow_drip(handler: BaseHTTPRequestHandler) -> None:
    """A byte a second: each read is well within the socket timeout, the whole answer never is."""
    body = LINE.format(i=0).encode() * 50
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    for byte in body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(1)


def _honest(handler: BaseHTTPRequestHandler) -> None:
    body = LINE.format(i=0).encode()
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


BEHAVIOURS: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
    "endless": _endless,
    "million-series": _million_series,
    "label-bomb": _label_bomb,
    "slow-drip": _slow_drip,
    "honest": _honest,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        with contextlib.suppress(OSError):  # the scraper hung up: what it should do
            BEHAVIOURS[self.path.strip("/")](self)


@pytest.fixture
def exporter() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("behaviour", "error", "bound_s"),
    [
        ("endless", "response larger than 33554432 bytes (SCRAPE_MAX_BYTES)", 10),
        ("million-series", "more than 100000 bandwidth series (SCRAPE_MAX_SERIES)", 10),
        ("label-bomb", "rejected", 10),
        ("slow-drip", "timed out after 2s (SCRAPE_TIMEOUT_SECONDS)", 5),
    ],
)
def test_a_malicious_exporter_is_a_recorded_scrape_error_and_nothing_is_counted(
    exporter: str,
    shop: GatewayService,
    make_target: Callable[..., ScrapeTarget],
    settings: Any,
    behaviour: str,
    error: str,
    bound_s: float,
) -> None:
    settings.SCRAPE_TIMEOUT_SECONDS = 2
    if behaviour == "million-series":  # 71 MB: past the default byte cap, so raise it to reach the series cap
        settings.SCRAPE_MAX_BYTES = 128 * 1024 * 1024
        _million_body()  # built before the clock starts: on a loaded machine building it alone took over 2 s
    target = make_target(f"{exporter}/{behaviour}")
    started = time.monotonic()
    result = scraping.scrape_target(target.id)
    seconds = time.monotonic() - started
    target.refresh_from_db()
    assert seconds < bound_s, seconds  # loose: before, the drip held the scrape ~50 s, the series ~13 s of CPU
    if behaviour == "label-bomb":
        # Insane labels are refused sample by sample (counted), not fatal: the scrape succeeds with nothing.
        assert result.ok and result.rejected == 1 and result.bytes_counted == 0, result
    else:
        assert not result.ok and result.error == error, result
        assert target.last_error == error and target.last_success_at is None
    assert result.bytes_counted == 0
    assert not UsagePeriod.objects.exists()
    assert not CounterSnapshot.objects.filter(target=target).exclude(counters={}).exists()
    assert DataPoint.objects.count() == 0

    # The same process scrapes an honest node right after: a baseline, then 1 byte more counts 1 byte.
    honest = make_target(f"{exporter}/honest")
    assert scraping.scrape_target(honest.id).ok
    assert CounterSnapshot.objects.get(target=honest).counters
