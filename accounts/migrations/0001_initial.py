"""Take over Organization, Membership and ApiKey from `devices` (devices 0001): state only.

Tables (devices_organization, devices_membership, devices_apikey), rows and constraint names stay; the
content types get the `accounts` label in place (same ids), so permissions, staff grants and admin log
entries follow the models. devices 0003 then drops them from devices' state.
"""

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from portal.migration_ops import content_types_moved


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("devices", "0002_fix_invalid_device_slugs"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Organization",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=200, unique=True)),
                        ("slug", models.SlugField(max_length=64, unique=True)),
                        ("stale_after", models.DurationField(default=datetime.timedelta(seconds=120))),
                        ("offline_after", models.DurationField(default=datetime.timedelta(seconds=900))),
                        ("auto_register_devices", models.BooleanField(default=True, help_text="Create a device on first write from an org-wide key; otherwise reject it.")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={"db_table": "devices_organization", "ordering": ["name"]},
                ),
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=128)),
                        ("key_id", models.CharField(editable=False, max_length=32, unique=True)),
                        ("digest", models.CharField(editable=False, max_length=64)),
                        ("scopes", models.JSONField(default=list)),
                        ("rate_limit", models.CharField(blank=True, help_text="Requests per period, e.g. '1200/m'. Empty: the site default.", max_length=32)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        ("rotated_from", models.OneToOneField(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="rotated_to", to="accounts.apikey")),
                        ("device", models.ForeignKey(blank=True, help_text="A device-bound key can only act for this device.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name="api_keys", to="devices.device")),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_keys", to="accounts.organization")),
                    ],
                    options={"verbose_name": "API key", "db_table": "devices_apikey", "ordering": ["organization", "-created_at"]},
                ),
                migrations.CreateModel(
                    name="Membership",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("role", models.CharField(choices=[("viewer", "Viewer"), ("admin", "Admin")], default="viewer", max_length=16)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to=settings.AUTH_USER_MODEL)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to="accounts.organization")),
                    ],
                    options={
                        "db_table": "devices_membership",
                        "constraints": [models.UniqueConstraint(fields=("user", "organization"), name="uniq_membership")],
                    },
                ),
            ],
            database_operations=[content_types_moved(old="devices", new="accounts", models=["organization", "membership", "apikey"])],
        ),
    ]
