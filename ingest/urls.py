from django.urls import path

from ingest import apis

urlpatterns = [
    path("metrics", apis.MetricsWriteApi.as_view(), name="metrics-write"),
    path("history", apis.HistoryApi.as_view(), name="history"),
    # <str:>: a malformed slug is a JSON 404 (as devices/<str:slug>), not Django's HTML page.
    path("devices/<str:slug>/series", apis.DeviceSeriesApi.as_view(), name="device-series"),
]
