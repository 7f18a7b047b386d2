"""A tiny TOML subset for Python 3.9/3.10, where the stdlib has no tomllib.

Enough for the agent's config file: comments, `[table]` headers (one level),
`key = value` with basic and literal strings, integers (with `_`), floats,
booleans and single-line arrays of those. Anything else is a clear error naming
the line, so a config written for real TOML never half-loads silently.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Dict, List

_KEY = re.compile(r"^([A-Za-z0-9_-]+)\s*=\s*(.+)$")
_TABLE = re.compile(r"^\[([A-Za-z0-9_-]+)\]$")
_INT = re.compile(r"^[+-]?\d[\d_]*$")
_FLOAT = re.compile(r"^[+-]?(\d[\d_]*)?(\.\d+)?([eE][+-]?\d+)?$")


class TOMLDecodeError(ValueError):
    pass


def _strip_comment(text: str) -> str:
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == "\\" and quote == '"':
                continue
            if ch == quote and (quote == "'" or text[i - 1] != "\\"):
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return text[:i].rstrip()
    return text.rstrip()


def _split_array(body: str) -> List[str]:
    items, current, quote = [], "", ""
    for ch in body:
        if quote:
            current += ch
            if ch == quote and not current.endswith("\\" + quote):
                quote = ""
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        items.append(current.strip())
    return items


def _value(text: str, lineno: int) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return [_value(item, lineno) for item in _split_array(text[1:-1])]
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1]
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        try:
            return ast.literal_eval(text)  # TOML basic strings use Python-compatible escapes for this subset
        except (ValueError, SyntaxError) as exc:
            raise TOMLDecodeError(f"line {lineno}: bad string {text}") from exc
    if text in ("true", "false"):
        return text == "true"
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    raise TOMLDecodeError(
        f"line {lineno}: unsupported value {text!r} (this TOML subset takes strings, "
        "numbers, booleans and one-line arrays)"
    )


def loads(text: str) -> Dict[str, Any]:
    root: Dict[str, Any] = {}
    table = root
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if not line:
            continue
        header = _TABLE.match(line)
        if header:
            table = root.setdefault(header.group(1), {})
            if not isinstance(table, dict):
                raise TOMLDecodeError(f"line {lineno}: [{header.group(1)}] redefines a key")
            continue
        pair = _KEY.match(line)
        if not pair:
            raise TOMLDecodeError(f"line {lineno}: expected `key = value` or `[table]`, got {raw.strip()!r}")
        key = pair.group(1)
        if key in table:
            raise TOMLDecodeError(f"line {lineno}: duplicate key {key!r}")
        table[key] = _value(pair.group(2), lineno)
    return root
