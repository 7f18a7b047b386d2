"""Kong's Prometheus exposition → bandwidth counters, for every generation of the plugin.

| Kong     | metric                 | labels (order varies; matched by name)              |
|----------|------------------------|-----------------------------------------------------|
| 2.0      | `kong_bandwidth`       | type, service, route                                |
| 2.1-2.8  | `kong_bandwidth`       | service, route, type                                |
| 3.0-3.6  | `kong_bandwidth_bytes` | service, route, direction, consumer                 |
| 3.7+     | `kong_bandwidth_bytes` | service, route, direction, workspace, consumer      |

The text is untrusted: only the bandwidth families are handed to prometheus_client's parser (Kong's
latency histograms are most of a node's exposition and are not needed), and every sample is checked
(direction, label length, control characters, a finite non-negative value) before it counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

FAMILIES = ("kong_bandwidth", "kong_bandwidth_bytes")
# The parser reports counter samples with `_total` appended; an untyped family keeps the bare name.
_SAMPLE_NAMES = frozenset(FAMILIES + tuple(f"{name}_total" for name in FAMILIES))
_LINE_PREFIXES = tuple(f"{name}{{" for name in _SAMPLE_NAMES) + tuple(
    f"# {word} {name}" for word in ("HELP", "TYPE") for name in FAMILIES
)
DIRECTIONS = ("ingress", "egress")
KEY_SEPARATOR = "\x1f"  # cannot occur in a label value that passed _sane()


class ExpositionError(ValueError):
    """The text is not a Prometheus exposition prometheus_client can parse."""


@dataclass(frozen=True, slots=True)
class BandwidthSample:
    service: str
    route: str
    direction: str
    consumer: str
    workspace: str
    value: float

    @property
    def key(self) -> str:
        """Identifies the counter on its node: every label Kong sets, so per-consumer counters stay apart."""
        return KEY_SEPARATOR.join((self.service, self.route, self.direction, self.workspace, self.consumer))


@dataclass(slots=True)
class ParsedExposition:
    samples: dict[str, BandwidthSample] = field(default_factory=dict)
    rejected: int = 0  # samples refused by the sanity checks
    first_rejection: str = ""  # why the first one was refused, for the target's error line


def _sane(value: str, max_length: int) -> bool:
    return len(value) <= max_length and value.isprintable()


def bandwidth_lines(text: str) -> str:
    """Only the lines of the bandwidth families; the parser then never sees the rest of the exposition."""
    return "\n".join(line for line in text.splitlines() if line.startswith(_LINE_PREFIXES)) + "\n"


def parse_bandwidth(text: str, *, max_series: int = 50_000, max_label_length: int = 256) -> ParsedExposition:
    """Every sane bandwidth counter in `text`, keyed by series; raises ExpositionError on unparseable text."""
    result = ParsedExposition()

    def reject(reason: str) -> None:
        result.rejected += 1
        if not result.first_rejection:
            result.first_rejection = reason

    try:
        families = list(text_string_to_metric_families(bandwidth_lines(text)))
    except (ValueError, IndexError, TypeError) as exc:  # the parser raises ValueError or IndexError on junk
        raise ExpositionError(f"not a Prometheus text exposition: {exc}") from None
    for family in families:
        if family.name not in FAMILIES:
            continue
        for sample in family.samples:
            if sample.name not in _SAMPLE_NAMES:
                continue
            labels = sample.labels
            direction = labels.get("direction", labels.get("type", ""))
            if direction not in DIRECTIONS:
                reject(f"{sample.name}: direction/type {direction[:40]!r} is not ingress or egress")
                continue
            service = labels.get("service", "")
            route = labels.get("route", "")
            consumer = labels.get("consumer", "")
            workspace = labels.get("workspace", "")
            if not service:
                reject(f"{sample.name}: no service label")
                continue
            if not all(_sane(v, max_label_length) for v in (service, route, consumer, workspace)):
                reject(f"{sample.name}: a label is longer than {max_label_length} characters or not printable")
                continue
            value = float(sample.value)
            if not math.isfinite(value) or value < 0:
                reject(f"{sample.name}{{service={service[:40]!r}}}: value {value} is not a finite counter")
                continue
            parsed = BandwidthSample(service, route, direction, consumer, workspace, value)
            if parsed.key not in result.samples and len(result.samples) >= max_series:
                raise ExpositionError(f"more than {max_series} bandwidth series (SCRAPE_MAX_SERIES)")
            result.samples[parsed.key] = parsed
    return result
