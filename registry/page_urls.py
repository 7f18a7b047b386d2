"""Pages of registry under /o/<org>/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from registry import pages

urlpatterns = [path("gauges/", pages.gauges_page, name="gauge-page")]
