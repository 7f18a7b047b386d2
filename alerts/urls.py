"""API routes of alerts under /api/v1/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from alerts import apis

# <str:…>, parsed by the views: a malformed id is the API's JSON 404, not Django's HTML one.
urlpatterns = [
    path("alerts/", apis.AlertListApi.as_view(), name="alert-list"),
    path("alerts/history", apis.AlertHistoryApi.as_view(), name="alert-history"),
    path("alerts/rules/", apis.RuleListApi.as_view(), name="alert-rule-list"),
    path("alerts/rules/<str:rule>", apis.RuleDetailApi.as_view(), name="alert-rule-detail"),
    path("alerts/silences/", apis.SilenceListApi.as_view(), name="alert-silence-list"),
    path("alerts/silences/<str:silence>", apis.SilenceDetailApi.as_view(), name="alert-silence-detail"),
]
