"""Helpers for migrations that move models between apps without touching their tables (layer 1: no app imports)."""

from __future__ import annotations

from typing import Any


def rename_content_types(apps: Any, schema_editor: Any, *, old: str, new: str, models: list[str]) -> None:
    """Give the moved models' content types the new app label, keeping their ids.

    Permissions, group/user grants and admin log entries point at the content type id, so they survive.
    If a content type under the new label exists too (a post_migrate ran between the code and the
    migration), it can only carry auto-created permissions: it is deleted and the old one, which carries
    the grants and log entries, takes its label.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in models:
        if not ContentType.objects.using(db).filter(app_label=old, model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label=new, model=model).delete()
        ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def content_types_moved(*, old: str, new: str, models: list[str]) -> Any:
    """A reversible RunPython that relabels `models`' content types from app `old` to app `new`."""
    from django.db import migrations

    def forwards(apps: Any, schema_editor: Any) -> None:
        rename_content_types(apps, schema_editor, old=old, new=new, models=models)

    def backwards(apps: Any, schema_editor: Any) -> None:
        rename_content_types(apps, schema_editor, old=new, new=old, models=models)

    return migrations.RunPython(forwards, backwards)
