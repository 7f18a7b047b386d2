from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import BeaconLoginView
from ingest.apis import InfluxWriteApi
from portal import health, status

admin.site.site_header = "Beacon administration"
admin.site.site_title = "Beacon admin"

urlpatterns = [
    path("health", health.health, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("accounts/login/", BeaconLoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("api/v1/status", status.StatusApi.as_view(), name="status"),
    path("api/v1/", include("devices.urls")),
    path("api/v1/", include("ingest.urls")),
    path("api/v1/", include("quotas.urls")),
    # InfluxDB v2 write path, so Telegraf and influxdb-client need only a URL and a token.
    path("api/v2/write", InfluxWriteApi.as_view(), name="influx-write"),
]
