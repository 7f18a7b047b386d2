"""API routes of alerts under /api/v1/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
