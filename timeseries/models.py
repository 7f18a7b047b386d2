"""Tables of the `sql` time-series backend (see docs/timeseries.md).

A series is one (tenant, measurement, tag set); its points live in a narrow
table keyed by (series, field, time) so an overwrite is a primary-key upsert
and a history query is one index range scan per series and field.
"""

from __future__ import annotations

from django.db import models


class FieldKind(models.TextChoices):
    FLOAT = "float"
    INT = "int"
    STR = "str"
    BOOL = "bool"


class Series(models.Model):
    tenant = models.CharField(max_length=64)
    measurement = models.CharField(max_length=255)
    tags = models.JSONField(default=dict)
    # sha256 of tenant + measurement + sorted tags: a unique key that fits an index.
    key_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        # Tables keep the names they had when this lived in `ingest` (moved without copying data).
        db_table = "ingest_series"
        indexes = [models.Index(fields=["tenant", "measurement"], name="ingest_series_tenant_meas")]
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return f"{self.measurement} {self.tags}"


class FieldType(models.Model):
    """The type of a field per tenant and measurement: a conflicting write is refused, as InfluxDB does."""

    tenant = models.CharField(max_length=64)
    measurement = models.CharField(max_length=255)
    field = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=FieldKind.choices)

    class Meta:
        db_table = "ingest_fieldtype"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "measurement", "field"], name="ingest_fieldtype_unique")
        ]

    def __str__(self) -> str:
        return f"{self.measurement}.{self.field}: {self.kind}"


class DataPoint(models.Model):
    # The composite primary key is the (series, field, time) index: no surrogate id, no second index.
    pk = models.CompositePrimaryKey("series_id", "field", "time_ns")
    # The primary key already starts with series_id, so no separate FK index; no database constraint either:
    # its per-row check cost ~30% of a batch write, and series ids are looked up in the writing transaction.
    series = models.ForeignKey(Series, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    field = models.CharField(max_length=255)
    # Nanoseconds since the epoch: InfluxDB's precision, and integer bucketing is cheap.
    time_ns = models.BigIntegerField()
    value_float = models.FloatField(null=True)
    value_int = models.BigIntegerField(null=True)
    # NULL, not "": exactly one value column is set per row, and "" is a valid string value.
    value_str = models.TextField(null=True)  # noqa: DJ001
    value_bool = models.BooleanField(null=True)

    class Meta:
        db_table = "ingest_datapoint"

    # No index on time alone: every query and the retention job name (series, field), so the primary key serves.

    def __str__(self) -> str:
        return f"{self.series_id}.{self.field}@{self.time_ns}"
