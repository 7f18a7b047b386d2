"""Plain-text answers (a gauge's value, the exposition) next to JSON, so `Accept: text/plain` is not a 406."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.renderers import BaseRenderer


class TextRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, (str, bytes)):
            return data.encode() if isinstance(data, str) else data
        # An error body (a dict) stays JSON, and says so.
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data).encode()
