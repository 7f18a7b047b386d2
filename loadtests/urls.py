"""API routes of loadtests under /api/v1/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
