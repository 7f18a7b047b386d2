from __future__ import annotations

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Organizations, devices and API keys"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme for ApiKeyAuthentication.
        from devices import schema  # noqa: F401
        from devices.key_cache import connect_signals

        # Saving or deleting a key drops it from this process's authentication memory at once.
        connect_signals()
