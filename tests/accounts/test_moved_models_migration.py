"""A database built on the schema before the platform move (tenancy in `devices`, store in `ingest`), with
data, migrates forward with every row intact, every key still authenticating, and content types relabelled
in place (permissions, grants and admin log entries follow the models)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts import keys
from accounts.models import ApiKey, Organization
from accounts.services import api_key_authenticate
from timeseries import get_store, reset_store

# The leaf migrations of today's main for the apps the move touches; the new apps did not exist.
BEFORE = [
    ("devices", "0002_fix_invalid_device_slugs"),
    ("ingest", "0001_timeseries_store"),
    ("accounts", None),
    ("timeseries", None),
]
TABLES = [
    "devices_organization",
    "devices_membership",
    "devices_apikey",
    "devices_device",
    "ingest_series",
    "ingest_fieldtype",
    "ingest_datapoint",
]


def _columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, table)]


def _snapshot(columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the moved tables; with `columns`, only those (the old schema's: later migrations may add
    columns, whose values are checked separately)."""
    with connection.cursor() as cursor:
        rows = {}
        for table in TABLES:
            wanted = (columns or {}).get(table)
            names = ", ".join(connection.ops.quote_name(c) for c in wanted) if wanted else "*"
            cursor.execute(f"SELECT {names} FROM {table} ORDER BY 1, 2, 3")  # noqa: S608 - constant names
            rows[table] = cursor.fetchall()
    return rows


def _seed_old_schema(apps: Any) -> dict[str, Any]:
    Org = apps.get_model("devices", "Organization")
    Device = apps.get_model("devices", "Device")
    Key = apps.get_model("devices", "ApiKey")
    Membership = apps.get_model("devices", "Membership")
    User = apps.get_model("auth", "User")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    Series = apps.get_model("ingest", "Series")
    FieldType = apps.get_model("ingest", "FieldType")
    DataPoint = apps.get_model("ingest", "DataPoint")

    acme = Org.objects.create(name="Acme", slug="acme", auto_register_devices=False)
    globex = Org.objects.create(name="Globex", slug="globex")
    edge = Device.objects.create(organization=acme, name="edge-01", slug="edge-01", tags={"site": "lab"})
    Device.objects.create(organization=globex, name="gw-01", slug="gw-01")
    plaintexts = {}
    for org, device, scopes in [
        (acme, None, ["metrics:write"]),
        (acme, edge, ["metrics:read"]),
        (globex, None, ["metrics:write", "metrics:read"]),
    ]:
        plaintext, key_id, secret = keys.generate()
        Key.objects.create(
            organization=org,
            device=device,
            name=f"{org.slug} key",
            key_id=key_id,
            digest=keys.digest(secret),
            scopes=scopes,
        )
        plaintexts[key_id] = (plaintext, org.slug, device.name if device else None)
    staff = User.objects.create(username="ops", is_staff=True)
    Membership.objects.create(user=staff, organization=acme, role="admin")

    # What the admin leaves behind: a content type, a permission granted to staff, a log entry on a key.
    key_type, _ = ContentType.objects.get_or_create(app_label="devices", model="apikey")
    series_type, _ = ContentType.objects.get_or_create(app_label="ingest", model="series")
    permission, _ = Permission.objects.get_or_create(
        content_type=key_type, codename="view_apikey", defaults={"name": "Can view API key"}
    )
    staff.user_permissions.add(permission)
    logged_key = Key.objects.filter(organization=acme).order_by("id").first()
    LogEntry.objects.create(
        user=staff,
        content_type=key_type,
        object_id=str(logged_key.pk),
        object_repr="acme key",
        action_flag=2,
        action_time=datetime.now(UTC),
    )

    t0 = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp()) * 1_000_000_000
    series = Series.objects.create(
        tenant=str(acme.id), measurement="edge", tags={"device": "edge-01"}, key_hash="a" * 64
    )
    FieldType.objects.create(tenant=str(acme.id), measurement="edge", field="cpu", kind="float")
    for i in range(3):
        DataPoint.objects.create(series=series, field="cpu", time_ns=t0 + i * 1_000_000_000, value_float=10.0 + i)
    return {
        "plaintexts": plaintexts,
        "key_type": key_type.id,
        "series_type": series_type.id,
        "staff": staff.id,
        "acme": acme.id,
        "logged_key": logged_key.pk,
        "t0": t0,
    }


@pytest.mark.django_db(transaction=True)
def test_main_schema_with_data_migrates_forward_intact() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    # The old schema is what is applied now: migrating back also unapplied every later app that depends on
    # the moved models (quotas, alerts, ...), whatever their leaves are today.
    applied = [node for node in executor.loader.applied_migrations if node in executor.loader.graph.nodes]
    seeded = _seed_old_schema(executor.loader.project_state(applied).apps)
    before = _snapshot()
    old_columns = {table: _columns(table) for table in TABLES}

    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    reset_store()

    assert _snapshot(old_columns) == before  # every row of every moved table, column by column
    # Columns added since (devices 0004: decommissioned_at) hold their defaults for every old row.
    added = {table: sorted(set(_columns(table)) - set(old_columns[table])) for table in TABLES}
    assert added == {table: (["decommissioned_at"] if table == "devices_device" else []) for table in TABLES}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM devices_device WHERE decommissioned_at IS NOT NULL")
        assert cursor.fetchone() == (0,)
    assert before["devices_apikey"] and before["ingest_datapoint"]

    for key_id, (plaintext, org_slug, device_name) in seeded["plaintexts"].items():
        api_key = api_key_authenticate(plaintext)
        assert api_key is not None and api_key.key_id == key_id
        assert api_key.organization.slug == org_slug
        assert (api_key.device.name if api_key.device else None) == device_name
    assert Organization.objects.get(slug="acme").auto_register_devices is False

    # Content types relabelled in place: same ids, so the grant and the log entry still resolve.
    assert ContentType.objects.get(id=seeded["key_type"]).natural_key() == ("accounts", "apikey")
    assert ContentType.objects.get(id=seeded["series_type"]).natural_key() == ("timeseries", "series")
    assert not ContentType.objects.filter(
        app_label__in=["devices"], model__in=["apikey", "organization", "membership"]
    ).exists()
    staff = User.objects.get(id=seeded["staff"])
    assert staff.has_perm("accounts.view_apikey")
    entry = LogEntry.objects.get(object_id=str(seeded["logged_key"]))
    assert entry.get_edited_object() == ApiKey.objects.get(pk=seeded["logged_key"])

    # The store reads the old rows through the moved models.
    start = datetime.fromtimestamp(seeded["t0"] / 1e9, UTC)
    series = get_store().query(
        tenant=str(seeded["acme"]), measurement="edge", fields=["cpu"], start=start, end=start + timedelta(minutes=1)
    )
    assert [value for _, value in series[0].points] == [10.0, 11.0, 12.0]
