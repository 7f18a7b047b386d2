from __future__ import annotations

from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "ingest"
    verbose_name = "Metrics ingest and history"

    def ready(self) -> None:
        from accounts.scopes import register_scope
        from ingest.scopes import METRICS_READ, METRICS_WRITE

        register_scope(METRICS_WRITE, "Write metrics")
        register_scope(METRICS_READ, "Read metrics", members=True)
