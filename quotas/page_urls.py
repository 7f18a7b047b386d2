"""Pages of quotas under /o/<org>/ (included by portal/urls.py)."""

from django.urls import path

from quotas import pages

# `service`, not `name`: the parameter names what it holds (the tenant-isolation walk fills it with org B's service).
urlpatterns = [
    path("services/<slug:service>/", pages.service_page, name="service-page"),
]
