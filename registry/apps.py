from __future__ import annotations

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Gauge registry"

    def ready(self) -> None:
        from accounts.scopes import register_scope
        from registry import schema  # noqa: F401 - registers the OpenAPI authentication extension
        from registry.scopes import GAUGES_READ, GAUGES_WRITE, SCRAPE

        register_scope(GAUGES_WRITE, "Write gauges and push groups")
        register_scope(GAUGES_READ, "Read gauges", members=True)
        register_scope(SCRAPE, "Scrape /metrics (Prometheus)")
