"""The store's models now belong to the `timeseries` app (timeseries 0001): drop them from ingest's state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0001_timeseries_store"),
        ("timeseries", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DataPoint"),
                migrations.DeleteModel(name="FieldType"),
                migrations.DeleteModel(name="Series"),
            ],
        ),
    ]
