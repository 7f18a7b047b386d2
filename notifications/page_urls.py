"""Settings pages of notifications under /o/<org>/ (included by portal/urls.py)."""

from django.urls import path

from notifications import pages

urlpatterns = [
    path("settings/webhooks/", pages.webhooks_page, name="settings-webhooks"),
    path("settings/webhooks/<int:endpoint>/rotate/", pages.endpoint_rotate, name="settings-webhook-rotate"),
    path("settings/webhooks/<int:endpoint>/enable/", pages.endpoint_enable, name="settings-webhook-enable"),
    path("settings/webhooks/<int:endpoint>/test/", pages.endpoint_test, name="settings-webhook-test"),
]
