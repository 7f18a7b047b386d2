from __future__ import annotations

from django.apps import AppConfig


class LoadtestsConfig(AppConfig):
    name = "loadtests"
    verbose_name = "Load-test runs (Locust)"

    def ready(self) -> None:
        from accounts.scopes import register_scope
        from loadtests.scopes import LOADTESTS_WRITE

        register_scope(LOADTESTS_WRITE, "Write load-test runs (Locust)")
