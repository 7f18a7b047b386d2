from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations, members and API keys"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme for ApiKeyAuthentication.
        from accounts import schema  # noqa: F401
        from accounts.key_cache import connect_signals

        # Saving or deleting a key drops it from this process's authentication memory at once.
        connect_signals()
