"""Push bodies (text format 0.0.4) parsed into the families a PushGroup stores, or refused with the line.

Hand-written rather than prometheus_client's parser, which renames a counter's sample `m` to `m_total` (so
Beacon would expose another name than the one pushed) and splits untyped samples of one name into several
families; this follows Go's expfmt text parser, which Pushgateway uses: a sample belongs to the family
declared by the last `# TYPE` of its name (or of a histogram's/summary's base name), otherwise to an
untyped family of its own name; a second TYPE or HELP for a name is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.api.errors import InvalidRequest, TooLarge
from registry.textformat import (
    SUFFIXES,
    Limits,
    PushRefused,
    check_labels,
    check_metric_name,
    check_suffixes,
    render_labels,
    render_value,
)

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)[ \t]*(\{.*\})?[ \t]*([^ \t{}]+)(?:[ \t]+([^ \t]+))?[ \t]*\Z")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(?:,|\Z)')
_ESCAPE = re.compile(r"\\.")
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
_KINDS = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})


@dataclass(frozen=True, slots=True)
class ParsedPush:
    # name -> [type, help, rendered lines]: what PushGroup.families stores.
    families: dict[str, list[str]]
    series: int

    def types(self) -> dict[str, str]:
        return {name: family[0] for name, family in self.families.items()}


def _unescape(value: str, line: int) -> str:
    def one(found: re.Match[str]) -> str:
        escaped = _ESCAPES.get(found.group(0))
        if escaped is None:
            raise InvalidRequest(f"body line {line}: invalid escape {found.group(0)!r} in a label value")
        return escaped

    return _ESCAPE.sub(one, value) if "\\" in value else value


def _labels(text: str, line: int) -> dict[str, str]:
    inner = text[1:-1]
    labels: dict[str, str] = {}
    pos = 0
    while inner[pos:].strip():
        found = _LABEL.match(inner, pos)
        if not found:
            raise InvalidRequest(f"body line {line}: invalid label set {text[:120]!r}")
        name = found.group(1)
        if name in labels:
            raise InvalidRequest(f"body line {line}: label {name!r} appears twice")
        labels[name] = _unescape(found.group(2), line)
        pos = found.end()
    return labels


def _value(text: str, line: int) -> float:
    try:
        if "_" in text:  # Python's float() accepts 1_000; the text format does not
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise InvalidRequest(f"body line {line}: expected a number as value, got {text[:40]!r}") from None


def _owner(sample: str, declared: Mapping[str, str]) -> str:
    if sample in declared:
        return sample
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix):
            base = sample[: -len(suffix)]
            if suffix in SUFFIXES.get(declared.get(base, ""), ()):
                return base
    return sample


def _comment(
    line: str, number: int, declared: dict[str, str], helps: dict[str, str], seen: Any, good_names: set[str]
) -> None:
    parts = line[1:].strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in ("HELP", "TYPE"):
        return  # any other comment
    name = parts[1]
    if name not in good_names:
        check_metric_name(name, where=f"body line {number}")
        good_names.add(name)
    rest = parts[2] if len(parts) > 2 else ""
    if parts[0] == "TYPE":
        kind = rest.strip()
        if kind not in _KINDS:
            raise InvalidRequest(f"body line {number}: unknown type {kind[:40]!r} for {name!r}")
        if name in declared or name in seen:
            raise InvalidRequest(f"body line {number}: TYPE of {name!r} twice or after its samples")
        declared[name] = kind
    else:
        if name in helps:
            raise InvalidRequest(f"body line {number}: second HELP for {name!r}")
        helps[name] = rest.replace("\\n", "\n").replace("\\\\", "\\")


def parse_push(text: str, grouping: Mapping[str, str], limits: Limits) -> ParsedPush:
    """400 (nothing stored) for bad lines, names and labels; PushRefused (the group's failure time is set) for
    timestamps and duplicate series. Grouping labels replace the same labels of every sample and
    `instance=""` is added (pushgateway's sanitizeLabels)."""
    declared: dict[str, str] = {}
    helps: dict[str, str] = {}
    families: dict[str, list[Any]] = {}  # name -> [type, [lines], {(sample, labels)}]
    series = 0
    good_names: set[str] = set()  # names and label names checked once per push, not once per line
    good_label_names: set[str] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if line[0] == "#":
            _comment(line, number, declared, helps, families, good_names)
            continue
        found = _SAMPLE.match(line)
        if not found:
            raise InvalidRequest(f"body line {number}: not a sample (name{{labels}} value): {line[:120]!r}")
        sample, label_text, value_text, timestamp = found.groups()
        value = _value(value_text, number)
        if timestamp is not None:
            if not timestamp.lstrip("-").isdigit():
                raise InvalidRequest(f"body line {number}: expected a timestamp in ms, got {timestamp[:40]!r}")
            raise PushRefused(f"body line {number}: pushed metrics must not have timestamps")
        owner = _owner(sample, declared)
        if owner not in good_names:
            check_metric_name(owner, where=f"body line {number}")
            good_names.add(owner)
        labels = _labels(label_text, number) if label_text else {}
        series += 1
        if series > limits.max_series:
            raise TooLarge(f"more than {limits.max_series} series in one push (REGISTRY_PUSH_MAX_SERIES)")
        labels.update(grouping)
        labels.setdefault("instance", "")
        check_labels(labels, limits, where=f"body line {number}", known=good_label_names)
        family = families.get(owner)
        if family is None:
            family = families[owner] = [declared.get(owner, "untyped"), [], set()]
        rendered = render_labels(labels)
        if (sample, rendered) in family[2]:
            raise PushRefused(
                f"body line {number}: a second sample {sample}{rendered} (the URL's grouping labels replace the "
                "body's); each series once per push"
            )
        family[2].add((sample, rendered))
        family[1].append(f"{sample}{rendered} {render_value(value)}\n")
    stored = {name: [f[0], helps.get(name, ""), "".join(f[1])] for name, f in families.items()}
    check_suffixes(stored)
    return ParsedPush(families=stored, series=series)
