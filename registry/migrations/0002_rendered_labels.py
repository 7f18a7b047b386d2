"""Gauges and pushed groups keep their label set rendered for the exposition (`{a="1"}`); existing rows are
rendered here, so a scrape never meets a row without it."""

from typing import Any

from django.db import migrations, models


def render_existing(apps: Any, schema_editor: Any) -> None:
    from registry.textformat import render_labels

    for model_name in ("Gauge", "PushGroup"):  # a group's labels are stored with instance="" already
        model = apps.get_model("registry", model_name)
        changed = []
        for row in model.objects.only("id", "labels").iterator(chunk_size=2000):
            row.rendered_labels = render_labels(row.labels or {})
            changed.append(row)
            if len(changed) >= 2000:
                model.objects.bulk_update(changed, ["rendered_labels"])
                changed = []
        model.objects.bulk_update(changed, ["rendered_labels"])


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="gauge",
            name="rendered_labels",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="pushgroup",
            name="rendered_labels",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(render_existing, migrations.RunPython.noop),
    ]
