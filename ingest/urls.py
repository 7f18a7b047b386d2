from django.urls import path

from ingest import apis

urlpatterns = [
    path("metrics", apis.MetricsWriteApi.as_view(), name="metrics-write"),
    path("history", apis.HistoryApi.as_view(), name="history"),
]
