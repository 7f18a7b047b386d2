"""Pass/fail thresholds of a run: `p95<300`, `fail_ratio<0.01`, `rps>=50`, `p95_regression<10%`.

Latency in ms, `fail_ratio` a fraction, `*_regression` the change against the plan's baseline in percent, in
the bad direction: slower (p50/p95/p99/avg/max), more failures (fail_ratio), less throughput (rps, requests).
Checks apply to the aggregated row. A regression check without a baseline is recorded as skipped (passed
None): the first run of a plan has nothing to regress from, and failing it would make every new plan red.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from portal.api.errors import InvalidRequest

METRICS = ("p50", "p95", "p99", "avg", "max", "rps", "requests", "fail_ratio")
HIGHER_IS_BETTER = ("rps", "requests")
_OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
_CHECK = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+?)(?P<regression>_regression)?\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<value>[0-9]+(?:\.[0-9]+)?)\s*(?P<pct>%)?\s*$"
)
MAX_CHECKS = 20


def parse(expressions: list[str]) -> list[dict[str, Any]]:
    """Validated checks; a bad one is a 400 naming it and what is allowed."""
    if len(expressions) > MAX_CHECKS:
        raise InvalidRequest(f"field 'checks': at most {MAX_CHECKS} checks, got {len(expressions)}")
    parsed = []
    for index, text in enumerate(expressions):
        match = _CHECK.match(text) if isinstance(text, str) and len(text) <= 64 else None
        if match is None or match["metric"] not in METRICS:
            raise InvalidRequest(
                f"field 'checks' item {index}: {str(text)[:64]!r} is not a check like 'p95<300', 'fail_ratio<0.01' "
                f"or 'p95_regression<10%' (metrics: {', '.join(METRICS)}; operators < <= > >=)",
                index=index,
            )
        regression = bool(match["regression"])
        if match["pct"] and not regression:
            raise InvalidRequest(
                f"field 'checks' item {index}: {text!r}: '%' is only for *_regression checks", index=index
            )
        parsed.append(
            {
                "check": text.strip().replace(" ", ""),
                "metric": match["metric"],
                "regression": regression,
                "op": match["op"],
                "threshold": float(match["value"]),
            }
        )
    return parsed


def regression_pct(metric: str, value: float | None, base: float | None) -> float | None:
    """How much worse `value` is than `base`, in % (negative: better); None without both numbers."""
    if value is None or base is None:
        return None
    if base == 0:
        return 0.0 if value == 0 else (None if metric in HIGHER_IS_BETTER else 100.0)
    change = (value - base) / base * 100
    return round(-change if metric in HIGHER_IS_BETTER else change, 3)


def evaluate(
    checks: list[Mapping[str, Any]], total: Mapping[str, Any], baseline_total: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Each check with `actual` and `passed` (True/False, None when it could not be evaluated) and `reason`."""
    results = []
    for check in checks:
        metric = check["metric"]
        result = {k: check[k] for k in ("check", "metric", "regression", "op", "threshold")}
        if check["regression"]:
            if baseline_total is None:
                result.update(actual=None, passed=None, reason="no baseline for this plan")
                results.append(result)
                continue
            actual = regression_pct(metric, total.get(metric), baseline_total.get(metric))
        else:
            actual = total.get(metric)
        if actual is None:
            result.update(actual=None, passed=None, reason=f"no {metric} measured")
        else:
            passed = _OPS[check["op"]](float(actual), float(check["threshold"]))
            result.update(actual=actual, passed=passed, reason="" if passed else _why(check, actual))
        results.append(result)
    return results


def _why(check: Mapping[str, Any], actual: float) -> str:
    unit = "%" if check["regression"] else ("" if check["metric"] in ("fail_ratio", "requests", "rps") else " ms")
    return f"{check['metric']}{'_regression' if check['regression'] else ''} was {actual:g}{unit}"


def failed(results: Sequence[Mapping[str, Any]]) -> list[str]:
    return [r["check"] for r in results if r.get("passed") is False]
