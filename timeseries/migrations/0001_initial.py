"""Take over the store's tables from `ingest` (where they were created by ingest 0001): state only.

The tables, their rows and their names stay as they are; only Django's idea of which app owns the models
moves, and so do their content types (so permissions and admin log entries follow them). A fresh database
gets the tables from ingest 0001 first, then this.
"""

import django.db.models.deletion
from django.db import migrations, models

from portal.migration_ops import content_types_moved


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("ingest", "0001_timeseries_store"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FieldType",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("tenant", models.CharField(max_length=64)),
                        ("measurement", models.CharField(max_length=255)),
                        ("field", models.CharField(max_length=255)),
                        ("kind", models.CharField(choices=[("float", "Float"), ("int", "Int"), ("str", "Str"), ("bool", "Bool")], max_length=8)),
                    ],
                    options={
                        "db_table": "ingest_fieldtype",
                        "constraints": [models.UniqueConstraint(fields=("tenant", "measurement", "field"), name="ingest_fieldtype_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="Series",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("tenant", models.CharField(max_length=64)),
                        ("measurement", models.CharField(max_length=255)),
                        ("tags", models.JSONField(default=dict)),
                        ("key_hash", models.CharField(max_length=64, unique=True)),
                    ],
                    options={
                        "db_table": "ingest_series",
                        "verbose_name_plural": "series",
                        "indexes": [models.Index(fields=["tenant", "measurement"], name="ingest_series_tenant_meas")],
                    },
                ),
                migrations.CreateModel(
                    name="DataPoint",
                    fields=[
                        ("pk", models.CompositePrimaryKey("series_id", "field", "time_ns", blank=True, editable=False, primary_key=True, serialize=False)),
                        ("field", models.CharField(max_length=255)),
                        ("time_ns", models.BigIntegerField()),
                        ("value_float", models.FloatField(null=True)),
                        ("value_int", models.BigIntegerField(null=True)),
                        ("value_str", models.TextField(null=True)),
                        ("value_bool", models.BooleanField(null=True)),
                        ("series", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to="timeseries.series")),
                    ],
                    options={"db_table": "ingest_datapoint"},
                ),
            ],
            database_operations=[content_types_moved(old="ingest", new="timeseries", models=["series", "fieldtype", "datapoint"])],
        ),
    ]
