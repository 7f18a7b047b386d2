"""Kong's Prometheus exposition → bandwidth counters, for every generation of the plugin.

| Kong     | metric                 | labels (order varies; matched by name)              |
|----------|------------------------|-----------------------------------------------------|
| 2.0      | `kong_bandwidth`       | type, service, route                                |
| 2.1-2.8  | `kong_bandwidth`       | service, route, type                                |
| 3.0-3.6  | `kong_bandwidth_bytes` | service, route, direction, consumer                 |
| 3.7+     | `kong_bandwidth_bytes` | service, route, direction, workspace, consumer      |

The text is untrusted: only the bandwidth families' sample lines are handed to prometheus_client's parser
(Kong's latency histograms are most of a node's exposition and are not needed), each label set once per
process (it is memoised by its exact text), and every sample is checked (direction, label length,
control characters, a finite non-negative value) before it counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

FAMILIES = ("kong_bandwidth", "kong_bandwidth_bytes")
# The parser reports counter samples with `_total` appended; an untyped family keeps the bare name.
_SAMPLE_NAMES = frozenset(FAMILIES + tuple(f"{name}_total" for name in FAMILIES))
# `kong_bandwidth{` / `kong_bandwidth ` (no labels): the sample lines of the two families, nothing else.
_SAMPLE_PREFIXES = tuple(f"{name}{end}" for name in _SAMPLE_NAMES for end in ("{", " "))
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


def bandwidth_lines(text: str) -> list[str]:
    """Only the sample lines of the bandwidth families; the parser never sees the rest of the exposition."""
    return [line for line in text.splitlines() if line.startswith(_SAMPLE_PREFIXES)]


# Series identity by the exact text of `name{labels}`: a node repeats the same label text every scrape, so
# prometheus_client parses each label set once per process and later readings only read the number.
# Values: (service, route, direction, workspace, consumer), or the reason the labels are refused.
_LABELS_MEMO: dict[str, tuple[str, str, str, str, str] | str] = {}
_MEMO_MAX = 200_000


def _judge(name: str, labels: dict[str, str], max_label_length: int) -> tuple[str, str, str, str, str] | str:
    direction = labels.get("direction", labels.get("type", ""))
    if direction not in DIRECTIONS:
        return f"{name}: direction/type {direction[:40]!r} is not ingress or egress"
    service = labels.get("service", "")
    route = labels.get("route", "")
    consumer = labels.get("consumer", "")
    workspace = labels.get("workspace", "")
    if not service:
        return f"{name}: no service label"
    if not all(_sane(v, max_label_length) for v in (service, route, consumer, workspace)):
        return f"{name}: a label is longer than {max_label_length} characters or not printable"
    return (service, route, direction, workspace, consumer)


def _parse_lines(lines: list[str]) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) per line, by prometheus_client's parser. Without TYPE lines every line is one
    untyped sample, yielded in line order."""
    try:
        samples = [
            (sample.name, sample.labels, float(sample.value))
            for family in text_string_to_metric_families("\n".join(lines) + "\n")
            for sample in family.samples
        ]
    except (ValueError, IndexError, TypeError) as exc:  # the parser raises ValueError or IndexError on junk
        raise ExpositionError(f"not a Prometheus text exposition: {exc}") from None
    if len(samples) != len(lines):
        raise ExpositionError("not a Prometheus text exposition: a line holds other than one sample")
    return samples


def _value(text: str) -> float:
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        raise ExpositionError(f"not a Prometheus text exposition: bad sample value {text.strip()[:40]!r}") from None


def parse_bandwidth(text: str, *, max_series: int = 50_000, max_label_length: int = 256) -> ParsedExposition:
    """Every sane bandwidth counter in `text`, keyed by series; raises ExpositionError on unparseable text."""
    result = ParsedExposition()
    memo = _LABELS_MEMO
    readings: list[tuple[tuple[str, str, str, str, str] | str, float]] = []
    unknown: list[tuple[int, str, str]] = []  # (index in readings, head, line)
    lines = bandwidth_lines(text)
    # Every series is one line of a node's exposition: refuse before parsing, which costs about 30 µs a line
    # (a 32 MiB answer of 450,000 series took 13 s of a worker's CPU before reaching the check below).
    if len(lines) > max_series:
        raise ExpositionError(f"more than {max_series} bandwidth series (SCRAPE_MAX_SERIES)")
    for line in lines:
        brace = line.rfind("}")
        head = line[: brace + 1]
        known = memo.get(head) if brace > 0 else None
        if known is None:
            unknown.append((len(readings), head, line))
            readings.append(("", 0.0))  # filled in below, keeping line order
        else:
            readings.append((known, _value(line[brace + 1 :])))
    if unknown:
        if len(memo) + len(unknown) > _MEMO_MAX:
            memo.clear()
        parsed = _parse_lines([line for _, _, line in unknown])
        for (index, head, _line), (name, labels, value) in zip(unknown, parsed, strict=True):
            verdict = _judge(name, labels, max_label_length)
            if head:
                memo[head] = verdict
            readings[index] = (verdict, value)
    for verdict, value in readings:
        if isinstance(verdict, str):
            result.rejected += 1
            result.first_rejection = result.first_rejection or verdict
            continue
        if not math.isfinite(value) or value < 0:
            result.rejected += 1
            result.first_rejection = result.first_rejection or f"{verdict[0][:40]!r}: value {value} is not a counter"
            continue
        service, route, direction, workspace, consumer = verdict
        sample = BandwidthSample(service, route, direction, consumer, workspace, value)
        if sample.key not in result.samples and len(result.samples) >= max_series:
            raise ExpositionError(f"more than {max_series} bandwidth series (SCRAPE_MAX_SERIES)")
        result.samples[sample.key] = sample
    return result
