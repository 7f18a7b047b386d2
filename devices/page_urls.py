"""Settings pages of devices under /o/<org>/ (included by portal/urls.py)."""

from django.urls import path

from devices import pages

urlpatterns = [
    path("settings/devices/", pages.devices_page, name="settings-devices"),
    path("settings/devices/<slug:device>/rename/", pages.device_rename, name="settings-device-rename"),
    path(
        "settings/devices/<slug:device>/decommission/", pages.device_decommission, name="settings-device-decommission"
    ),
    path(
        "settings/devices/<slug:device>/recommission/", pages.device_recommission, name="settings-device-recommission"
    ),
]
