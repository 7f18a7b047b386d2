"""The Django admin, with two policies on top: no admin action runs on view permission alone, and a
customer who finds the admin is told where their pages are (portal/admin_site.py).

Django lets any staff user who can open a changelist run an action that declares no
`allowed_permissions`. Actions change rows (ours revoke and rotate keys; third-party ones
enable or run tasks), so after every app's admin module is loaded, each action that declares
nothing is given `("change",)`. Actions that declare their own (e.g. `delete_selected`) keep them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

DEFAULT_ACTION_PERMISSIONS = ("change",)


def registered_actions(site: admin.AdminSite) -> Iterator[tuple[admin.ModelAdmin[Any], str, Any]]:
    """Every (model admin, action name, function) on `site`, before any per-user filtering."""
    for model_admin in site._registry.values():
        # Private but stable (Django 2.1+): the actions before per-user filtering, incl. site-wide ones.
        for func, name, _description in model_admin._get_base_actions():  # type: ignore[attr-defined]
            yield model_admin, name, getattr(func, "__func__", func)


def require_change_permission(site: admin.AdminSite) -> None:
    for _model_admin, _name, func in registered_actions(site):
        if not getattr(func, "allowed_permissions", ()):
            func.allowed_permissions = DEFAULT_ACTION_PERMISSIONS


class BeaconAdminConfig(AdminConfig):
    default_site = "portal.admin_site.BeaconAdminSite"  # imported once apps are loaded

    def ready(self) -> None:
        super().ready()  # autodiscover: every installed app's admin module is imported now
        require_change_permission(admin.site)
