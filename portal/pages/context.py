"""Settings every page template reads."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def page_settings(request: HttpRequest) -> dict[str, Any]:
    return {"demo_mode": settings.DEMO_MODE and settings.DEBUG}
