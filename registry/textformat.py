"""The Prometheus text format both ways: names and labels checked, push bodies parsed, samples rendered.

Parsing is prometheus_client's parser (the library Beacon's users push with); what it accepts but a
Pushgateway refuses (timestamps, duplicate series after the grouping labels win) is refused here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from portal.api.errors import InvalidRequest, TooLarge

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
# Families Beacon writes itself in every exposition; a push or gauge of these names would collide.
RESERVED_NAMES = frozenset(
    {"push_time_seconds", "push_failure_time_seconds", "beacon_registry_active_clients", "beacon_registry_gauges"}
)
# prometheus_client calls the text format's `untyped` "unknown".
_TYPES = {"unknown": "untyped", "untyped": "untyped", "gauge": "gauge", "counter": "counter"}
_TYPES |= {"summary": "summary", "histogram": "histogram"}
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


@dataclass(frozen=True, slots=True)
class Limits:
    max_series: int
    max_labels: int
    max_label_value: int
    max_name: int = 200


def check_metric_name(name: str, *, where: str) -> None:
    if not METRIC_NAME.match(name) or len(name) > 200:
        raise InvalidRequest(f"{where}: {name[:80]!r} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    if name in RESERVED_NAMES:
        raise InvalidRequest(f"{where}: {name!r} is written by Beacon itself; choose another name")


def check_labels(labels: Mapping[str, str], limits: Limits, *, where: str) -> None:
    if len(labels) > limits.max_labels:
        raise InvalidRequest(f"{where}: {len(labels)} labels; the limit is {limits.max_labels} (REGISTRY_MAX_LABELS)")
    for name, value in labels.items():
        if not isinstance(name, str) or not LABEL_NAME.match(name) or name.startswith("__") or len(name) > 200:
            raise InvalidRequest(f"{where}: improper label name {str(name)[:80]!r}")
        if not isinstance(value, str):
            raise InvalidRequest(f"{where}: label {name!r} must be a string")
        if len(value) > limits.max_label_value:
            raise InvalidRequest(
                f"{where}: label {name!r} is {len(value)} characters; the limit is {limits.max_label_value} "
                "(REGISTRY_MAX_LABEL_VALUE_LENGTH)"
            )


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels.items())) + "}"


def render_value(value: float) -> str:
    return floatToGoString(value)


def help_line(name: str, text: str) -> str:
    return f"# HELP {name} {text.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n"


@dataclass(frozen=True, slots=True)
class ParsedPush:
    # name -> [type, help, rendered lines]: what PushGroup.families stores.
    families: dict[str, list[str]]
    series: int

    def types(self) -> dict[str, str]:
        return {name: family[0] for name, family in self.families.items()}


def _family_name(name: str, kind: str, sample_names: set[str]) -> str:
    """The name the text format used: prometheus_client strips `_total` from counter families."""
    if kind == "counter" and sample_names == {name + "_total"}:
        return name + "_total"
    return name


def parse_push(text: str, grouping: Mapping[str, str], limits: Limits) -> ParsedPush:
    """A push body as stored families. 400 (nothing stored) for bad text, names, labels, timestamps and
    duplicate series; the grouping labels replace the same labels of every sample, instance="" is added."""
    try:
        parsed = list(text_string_to_metric_families(text))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise InvalidRequest(f"body is not the Prometheus text format: {str(exc)[:200]}") from None
    families: dict[str, list[str]] = {}
    series = 0
    for family in parsed:
        kind = _TYPES.get(family.type)
        if kind is None:  # OpenMetrics-only types (info, stateset, gaugehistogram)
            raise InvalidRequest(f"metric {family.name!r}: type {family.type!r} is not in the text format 0.0.4")
        name = _family_name(family.name, kind, {s.name for s in family.samples})
        check_metric_name(name, where=f"metric {name!r}")
        if name in families:
            raise InvalidRequest(f"metric {name!r} appears twice in the body")
        lines: list[str] = []
        seen: set[tuple[str, str]] = set()
        for sample in family.samples:
            if sample.timestamp is not None:
                raise PushRefused(f"metric {name!r}: pushed metrics must not have timestamps")
            series += 1
            if series > limits.max_series:
                raise TooLarge(f"more than {limits.max_series} series in one push (REGISTRY_PUSH_MAX_SERIES)")
            labels = {**sample.labels, **grouping}
            labels.setdefault("instance", "")
            check_labels(labels, limits, where=f"metric {name!r}")
            rendered = render_labels(labels)
            if (sample.name, rendered) in seen:
                raise PushRefused(
                    f"metric {name!r}: two samples {sample.name}{rendered} (the URL's grouping labels replace the "
                    "body's); each series once per push"
                )
            seen.add((sample.name, rendered))
            lines.append(f"{sample.name}{rendered} {render_value(sample.value)}\n")
        families[name] = [kind, family.documentation or "", "".join(lines)]
    _check_suffixes(families.keys(), families)
    return ParsedPush(families=families, series=series)


def related_names(name: str, kind: str) -> list[str]:
    """Names that would collide with `name` in one exposition: a histogram `h` owns `h_count` etc."""
    related = [name + s for s in _SUFFIXES.get(kind, ())]
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            related.append(name[: -len(suffix)])
    return related


def _check_suffixes(names: Iterable[str], families: Mapping[str, list[str]]) -> None:
    for name in names:
        for other in related_names(name, families[name][0]):
            other_family = families.get(other)
            if other_family and (other_family[0] in _SUFFIXES or families[name][0] in _SUFFIXES):
                raise PushRefused(f"metric {name!r} collides with {other!r} (a histogram or summary's series)")


class PushRefused(InvalidRequest):
    """A well-formed push Pushgateway also refuses; it records push_failure_time_seconds for the group."""


def finite(value: float, *, where: str) -> float:
    if math.isnan(value) or math.isinf(value):
        raise InvalidRequest(f"{where}: {value} is not a finite number")
    return value
