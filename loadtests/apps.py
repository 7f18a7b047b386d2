from __future__ import annotations

from django.apps import AppConfig


class LoadtestsConfig(AppConfig):
    name = "loadtests"
    verbose_name = "Load-test runs (Locust)"
