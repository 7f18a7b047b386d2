from __future__ import annotations

from django.apps import AppConfig

ALERTS_WRITE = "alerts:write"


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Device and metric alerts"

    def ready(self) -> None:
        from accounts.scopes import register_scope

        # Reads use ingest's metrics:read (members hold it); writes need this scope or the org admin role.
        register_scope(ALERTS_WRITE, "Write alert rules and silences")
