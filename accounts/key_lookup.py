"""The hot-path read of API-key authentication: one key with its organization and device.

Every authenticated request runs this. Building the same three-table query through the ORM costs
more CPU than the database round trip (≈0.6 ms of SQL compilation per call on the 2-core reference
machine, see docs/benchmarks.md), so the SQL text is generated once per process from the models'
metadata and rows are turned into model instances with the same converters the ORM applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model
from django.db.models.expressions import Col

from accounts.models import ApiKey, Organization


@cache
def _models() -> tuple[type[Model], ...]:
    return (ApiKey, Organization, ApiKey.device_model())


def _fields(model: type[Model]) -> list[Field[Any, Any]]:
    return list(model._meta.concrete_fields)  # type: ignore[arg-type]


@cache
def _sql(alias: str) -> str:
    qn = connections[alias].ops.quote_name
    key, org, dev = (m._meta.db_table for m in _models())
    columns = [f"{qn(m._meta.db_table)}.{qn(f.column)}" for m in _models() for f in _fields(m)]
    # Exactly one row whether the key id exists or not (NULLs when it does not): an unknown id and a known
    # id with a wrong secret send, fetch and decode the same thing, so neither answers measurably faster.
    # Only identifiers from model metadata are interpolated; the key id is a bound parameter.
    return (
        f"SELECT {', '.join(columns)} FROM (SELECT 1) AS {qn('probe')} "  # noqa: S608
        f"LEFT OUTER JOIN {qn(key)} ON {qn(key)}.{qn('key_id')} = %s "
        f"LEFT OUTER JOIN {qn(org)} ON {qn(key)}.{qn('organization_id')} = {qn(org)}.{qn('id')} "
        f"LEFT OUTER JOIN {qn(dev)} ON {qn(key)}.{qn('device_id')} = {qn(dev)}.{qn('id')}"
    )


@cache
def _converters(alias: str) -> list[tuple[type[Model], list[str], list[tuple[Col, list[Any]]]]]:
    connection = connections[alias]
    plan = []
    for model in _models():
        fields = _fields(model)
        per_field = []
        for field in fields:
            col = Col(model._meta.db_table, field)
            per_field.append((col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)))  # type: ignore[attr-defined]
        plan.append((model, [f.attname for f in fields], per_field))
    return plan


@dataclass(frozen=True)
class KeyRow:
    """The lookup's one row: `digest` is None for an unknown key id."""

    alias: str
    row: tuple[Any, ...]

    @property
    def digest(self) -> str | None:
        return self.row[_DIGEST_INDEX]  # type: ignore[no-any-return]

    def api_key(self) -> ApiKey:
        """The key with `organization` and `device` loaded, as `select_related` would (known ids only)."""
        assert self.digest is not None
        connection = connections[self.alias]
        instances: list[Model | None] = []
        offset = 0
        for model, attnames, per_field in _converters(self.alias):
            values = list(self.row[offset : offset + len(attnames)])
            offset += len(attnames)
            if values[0] is None:  # LEFT JOIN without a device
                instances.append(None)
                continue
            for i, (col, converters) in enumerate(per_field):
                for converter in converters:
                    values[i] = converter(values[i], col, connection)
            instances.append(model.from_db(self.alias, attnames, values))
        api_key, organization, device = instances
        assert isinstance(api_key, ApiKey) and isinstance(organization, Organization)
        api_key.organization = organization
        api_key.device = device if isinstance(device, ApiKey.device_model()) else None  # type: ignore[assignment]
        return api_key


_DIGEST_INDEX = [f.attname for f in _fields(ApiKey)].index("digest")


def key_row(key_id: str) -> KeyRow:
    """One query, one row, whether `key_id` exists or not."""
    alias = router.db_for_read(ApiKey) or "default"
    with connections[alias].cursor() as cursor:
        cursor.execute(_sql(alias), [key_id])
        row = cursor.fetchone()
    assert row is not None  # the probe row is always there
    return KeyRow(alias, tuple(row))
