"""Content negotiation for views that answer plain text themselves (a gauge's value, the exposition): an
`Accept` JSON cannot satisfy (e.g. `text/plain` alone) is not a 406; JSON stays the format of errors."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class TextFriendlyNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type
