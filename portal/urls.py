from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import BeaconLoginView
from ingest.apis import InfluxWriteApi
from portal import health, status
from portal.api import opsmetrics

# Unmatched /api/ paths (a run id that is not a UUID) answer JSON like every other API error.
handler404 = "portal.api.errors.not_found"

urlpatterns = [
    path("health", health.health, name="health"),
    # The hot write routes next: Django tries patterns in order, and a small push, a Pushgateway push or a
    # gauge inc walked up to 20 earlier patterns first (up to 3 % of their CPU, docs/benchmarks.md).
    # InfluxDB v2 write path, so Telegraf and influxdb-client need only a URL and a token.
    path("api/v2/write", InfluxWriteApi.as_view(), name="influx-write"),
    path("api/v1/", include("ingest.urls")),
    path("api/v1/", include("registry.urls")),
    # Prometheus exposition and Pushgateway-compatible pushes where their clients expect them (/metrics...).
    path("", include("registry.root_urls")),
    path("health/ready", health.ready, name="health-ready"),
    path("-/metrics", opsmetrics.metrics_view, name="ops-metrics"),  # Beacon's own, for its operators
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("accounts/login/", BeaconLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/", include("accounts.urls")),  # invitation links, password reset by email
    path("api/v1/status", status.StatusApi.as_view(), name="status"),
    path("api/v1/", include("devices.urls")),
    path("api/v1/", include("quotas.urls")),
    path("api/v1/", include("loadtests.urls")),
    path("apiv0.1/", include("loadtests.seed_urls")),  # the Locust seed's compatibility routes
    path("api/v1/", include("alerts.urls")),
    # Customer pages: /, /o/<org>/ (portal.pages gathers the apps), then each app's pages under /o/<org>/.
    path("", include("portal.pages.urls")),
    path("o/<slug:org>/", include("ingest.page_urls")),
    path("o/<slug:org>/", include("quotas.page_urls")),
    path("o/<slug:org>/", include("loadtests.page_urls")),
    path("o/<slug:org>/", include("registry.page_urls")),
    path("o/<slug:org>/", include("alerts.page_urls")),
    # Settings under /o/<org>/settings/ (org admins): the index in portal.pages, each app's section in its app.
    path("o/<slug:org>/", include("accounts.page_urls")),
    path("o/<slug:org>/", include("devices.page_urls")),
    path("o/<slug:org>/", include("notifications.page_urls")),
]
