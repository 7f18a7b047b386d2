"""Walk every URL pattern of the URL conf, so tests cover routes added later without being edited.

Used by the tenant-isolation walk (tests/test_tenant_isolation.py) and the dependency-outage walk
(tests/portal/test_outage_walk.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "api/v1/devices/<slug:device>/"
    methods: tuple[str, ...]
    parameters: tuple[str, ...]


def _methods(callback: Any) -> tuple[str, ...]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return ("get", "post")  # a function view: try both
    return tuple(m for m in METHODS if hasattr(view_class, m))


def walk(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[Route]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
            yield Route(route, _methods(entry.callback), params)


def fill(route: str, values: dict[str, str]) -> str:
    """The route as a path, each `<converter:name>` replaced by values[name]."""
    url = "/" + route
    for name, value in values.items():
        url = re.sub(rf"<(?:\w+:)?{name}>", value, url)
    return url
