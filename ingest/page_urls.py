"""Pages of ingest under /o/<org>/ (included by portal/urls.py)."""

from django.urls import path

from ingest import pages

urlpatterns = [
    path("devices/<slug:device>/", pages.device_page, name="device-page"),
]
