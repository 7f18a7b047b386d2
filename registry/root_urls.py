"""Routes at the site root, where Prometheus and Pushgateway clients expect them (portal/urls.py includes
this at ""): the exposition and the Pushgateway push paths. Beacon's own metrics are elsewhere (/-/metrics)."""

from __future__ import annotations

from django.urls import path

from registry import pushapis

urlpatterns = [
    path("metrics", pushapis.ExpositionApi.as_view(), name="registry-exposition"),
    path("metrics/job/<str:job>", pushapis.PushJobApi.as_view(), name="push"),
    path("metrics/job/<str:job>/<path:labels>", pushapis.PushLabelsApi.as_view(), name="push-labels"),
    path("metrics/job@base64/<str:job_base64>", pushapis.PushBase64Api.as_view(), name="push-base64"),
    path(
        "metrics/job@base64/<str:job_base64>/<path:labels>",
        pushapis.PushBase64LabelsApi.as_view(),
        name="push-base64-labels",
    ),
]
