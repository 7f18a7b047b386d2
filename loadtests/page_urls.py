"""Pages of loadtests under /o/<org>/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from loadtests import pages

urlpatterns = [
    path("loadtests/", pages.run_list_page, name="loadtest-list-page"),
    path("loadtests/<uuid:run>/", pages.run_page, name="loadtest-page"),
]
