"""Pages of alerts under /o/<org>/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
