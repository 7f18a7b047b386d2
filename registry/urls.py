"""API routes of registry under /api/v1/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from registry import apis

urlpatterns = [
    path("gauges/", apis.GaugeListApi.as_view(), name="gauge-list"),
    path("gauges/<str:gauge>", apis.GaugeApi.as_view(), name="gauge"),
    path("gauges/<str:gauge>/inc", apis.GaugeIncApi.as_view(), name="gauge-inc"),
    path("gauges/<str:gauge>/dec", apis.GaugeDecApi.as_view(), name="gauge-dec"),
    path("gauges/<str:gauge>/add", apis.GaugeAddApi.as_view(), name="gauge-add"),
    path("gauges/<str:gauge>/sub", apis.GaugeSubApi.as_view(), name="gauge-sub"),
    path("groups/", apis.GroupListApi.as_view(), name="push-group-list"),
    path("admin/wipe", apis.WipeApi.as_view(), name="push-wipe"),
]
