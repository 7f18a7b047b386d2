"""Reading a target: a Kong node's /metrics text, or increase() windows from a Prometheus server's HTTP API.

Every byte that comes back is untrusted: the request goes through portal.netguard (SSRF checks at
connect time, no redirects), with a timeout and a size cap; a Prometheus answer must have the shape
the API documents or the scrape fails with a message saying what was wrong.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from portal import netguard
from quotas.kong import DIRECTIONS
from quotas.models import ScrapeTarget

# Kong 3.x names the counter kong_bandwidth_bytes{direction}; 2.x kong_bandwidth{type}. A Prometheus that
# scrapes a mixed cluster has both, so both are asked for and added up.
PROMQL = (
    "sum by (service, route, direction) (increase(kong_bandwidth_bytes[{window}s]))",
    "sum by (service, route, direction) "
    '(label_replace(increase(kong_bandwidth[{window}s]), "direction", "$1", "type", "(.*)"))',
)


class ScrapeFailed(Exception):
    """The target could not be read or answered something unusable; the message is stored on the target."""


@dataclass(frozen=True, slots=True)
class WindowSample:
    time: datetime  # end of the window the increase covers
    service: str
    route: str
    direction: str
    value: int


def _headers(target: ScrapeTarget, accept: str) -> dict[str, str]:
    headers = {"Accept": accept, "User-Agent": "beacon-scraper/1"}
    if target.auth_header:
        headers["Authorization"] = target.auth_header
    return headers


def _get(target: ScrapeTarget, url: str, accept: str) -> bytes:
    limit = settings.SCRAPE_MAX_BYTES
    try:
        response = netguard.request(
            "GET",
            url,
            headers=_headers(target, accept),
            timeout=settings.SCRAPE_TIMEOUT_SECONDS,
            max_response_bytes=limit,
        )
    except netguard.UnsafeUrl as exc:
        raise ScrapeFailed(f"refused: {exc}") from None
    except TimeoutError:
        raise ScrapeFailed(f"timed out after {settings.SCRAPE_TIMEOUT_SECONDS}s (SCRAPE_TIMEOUT_SECONDS)") from None
    except OSError as exc:
        raise ScrapeFailed(f"cannot connect: {type(exc).__name__}: {exc}") from None
    if response.truncated:
        raise ScrapeFailed(f"response larger than {limit} bytes (SCRAPE_MAX_BYTES)")
    if response.status != 200:
        raise ScrapeFailed(f"HTTP {response.status} from {url}")
    return response.body


def fetch_exposition(target: ScrapeTarget) -> str:
    body = _get(target, target.url, "text/plain;version=0.0.4")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScrapeFailed(f"exposition is not UTF-8 (byte {exc.start})") from None


def _range_url(base: str, query: str, start: datetime, end: datetime, step: int) -> str:
    params = urllib.parse.urlencode(
        {"query": query, "start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}", "step": str(step)}
    )
    return f"{base.rstrip('/')}/api/v1/query_range?{params}"


def _matrix(body: bytes) -> list[dict[str, object]]:
    try:
        answer = json.loads(body)
    except ValueError:
        raise ScrapeFailed("Prometheus answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise ScrapeFailed(f"Prometheus query failed: {str(error)[:200]}")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise ScrapeFailed("Prometheus answer is not a matrix (data.resultType)")
    return data["result"]  # type: ignore[no-any-return]


def _window_samples(result: list[dict[str, object]], max_label_length: int) -> list[WindowSample]:
    samples: list[WindowSample] = []
    for series in result:
        metric = series.get("metric") if isinstance(series, dict) else None
        values = series.get("values") if isinstance(series, dict) else None
        if not isinstance(metric, dict) or not isinstance(values, list):
            raise ScrapeFailed("Prometheus series without metric/values")
        service, route, direction = (str(metric.get(k, "")) for k in ("service", "route", "direction"))
        if direction not in DIRECTIONS or not service:
            continue
        if any(len(v) > max_label_length or not v.isprintable() for v in (service, route)):
            continue
        for pair in values:
            try:
                moment, raw = float(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                raise ScrapeFailed('Prometheus value is not [time, "number"]') from None
            if not math.isfinite(raw) or raw < 0 or not math.isfinite(moment):
                continue
            if round(raw):
                samples.append(
                    WindowSample(datetime.fromtimestamp(moment, tz=UTC), service, route, direction, round(raw))
                )
    return samples


def fetch_increase(target: ScrapeTarget, *, start: datetime, end: datetime, step: int) -> list[WindowSample]:
    """Bytes per (service, route, direction) in each `step`-second window ending in (start, end]."""
    samples: list[WindowSample] = []
    for template in PROMQL:
        url = _range_url(target.url, template.format(window=step), start, end, step)
        result = _matrix(_get(target, url, "application/json"))
        samples.extend(_window_samples(result, settings.SCRAPE_MAX_LABEL_LENGTH))
    return samples
