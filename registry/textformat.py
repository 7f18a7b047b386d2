"""The Prometheus text format's rules and rendering: names, labels, escaping, values (parsing: pushparse.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client.utils import floatToGoString

from portal.api.errors import InvalidRequest

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
# Families Beacon writes itself in every exposition; a push or gauge of these names would collide.
RESERVED_NAMES = frozenset(
    {"push_time_seconds", "push_failure_time_seconds", "beacon_registry_active_clients", "beacon_registry_gauges"}
)
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


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


def check_labels(labels: Mapping[str, str], limits: Limits, *, where: str, known: set[str] | None = None) -> None:
    """`known`: label names already found proper (a push repeats the same few on every line); filled here."""
    if len(labels) > limits.max_labels:
        raise InvalidRequest(f"{where}: {len(labels)} labels; the limit is {limits.max_labels} (REGISTRY_MAX_LABELS)")
    for name, value in labels.items():
        if known is None or name not in known:
            if not isinstance(name, str) or not LABEL_NAME.match(name) or name.startswith("__") or len(name) > 200:
                raise InvalidRequest(f"{where}: improper label name {str(name)[:80]!r}")
            if known is not None:
                known.add(name)
        if not isinstance(value, str):
            raise InvalidRequest(f"{where}: label {name!r} must be a string")
        if len(value) > limits.max_label_value:
            raise InvalidRequest(
                f"{where}: label {name!r} is {len(value)} characters; the limit is {limits.max_label_value} "
                "(REGISTRY_MAX_LABEL_VALUE_LENGTH)"
            )


def escape(value: str) -> str:
    if "\\" not in value and "\n" not in value and '"' not in value:  # the common case: three scans, no copies
        return value
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels.items())) + "}"


def render_value(value: float) -> str:
    return floatToGoString(value)


def help_line(name: str, text: str) -> str:
    return f"# HELP {name} {text.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n"


def related_names(name: str, kind: str) -> list[str]:
    """Names that would collide with `name` in one exposition: a histogram `h` owns `h_count` etc."""
    related = [name + s for s in SUFFIXES.get(kind, ())]
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            related.append(name[: -len(suffix)])
    return related


def check_suffixes(families: Mapping[str, list[str]]) -> None:
    for name in families:
        for other in related_names(name, families[name][0]):
            other_family = families.get(other)
            if other_family and (other_family[0] in SUFFIXES or families[name][0] in SUFFIXES):
                raise PushRefused(f"metric {name!r} collides with {other!r} (a histogram or summary's series)")


class PushRefused(InvalidRequest):
    """A well-formed push Pushgateway also refuses; it records push_failure_time_seconds for the group."""


def finite(value: float, *, where: str) -> float:
    if math.isnan(value) or math.isinf(value):
        raise InvalidRequest(f"{where}: {value} is not a finite number")
    return value
