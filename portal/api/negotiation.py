"""Content negotiation for endpoints whose answers have one shape whatever the client accepts."""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import BaseContentNegotiation


class FirstRendererNegotiation(BaseContentNegotiation):
    """The view's first renderer, Accept unread: a write answers 204 or a JSON error to every client (Telegraf
    and influxdb-client send `Accept: application/json`, others `*/*` or nothing), so parsing the header on
    every small push only cost time (docs/benchmarks.md "Ingest speed")."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type
