"""API routes of loadtests under /api/v1/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from loadtests import apis

urlpatterns = [
    path("loadtests/", apis.RunCollectionApi.as_view(), name="loadtest-list"),
    path("loadtests/<uuid:run>", apis.RunDetailApi.as_view(), name="loadtest-detail"),
    path("loadtests/<uuid:run>/stats", apis.RunStatsApi.as_view(), name="loadtest-stats"),
    path("loadtests/<uuid:run>/commit", apis.RunCommitApi.as_view(), name="loadtest-commit"),
    path("loadtests/<uuid:run>/baseline", apis.RunBaselineApi.as_view(), name="loadtest-baseline"),
    path("loadtests/<uuid:run>/compare", apis.RunCompareApi.as_view(), name="loadtest-compare"),
]
