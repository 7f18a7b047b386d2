"""Pages of ingest under /o/<org>/ (included by portal/urls.py)."""

from django.urls import path

from ingest import pages, settings_pages

urlpatterns = [
    path("devices/<slug:device>/", pages.device_page, name="device-page"),
    path(
        "settings/devices/<slug:device>/delete-data/",
        settings_pages.delete_data_page,
        name="settings-device-delete-data",
    ),
]
