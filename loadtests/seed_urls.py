"""The seed's routes under /apiv0.1/ (portal/urls.py includes them): metrics-consumer's register/commit/isrunning."""

from __future__ import annotations

from django.urls import path

from loadtests import seed_apis

urlpatterns = [
    path("events/register", seed_apis.SeedRegisterApi.as_view(), name="seed-loadtest-register"),
    path("events/commit", seed_apis.SeedCommitApi.as_view(), name="seed-loadtest-commit"),
    path("events/isrunning", seed_apis.SeedIsRunningApi.as_view(), name="seed-loadtest-isrunning"),
]
