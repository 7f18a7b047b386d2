"""Organization, Membership and ApiKey now belong to `accounts` (accounts 0001): drop them from devices'
state only; the device's organization foreign key points at the same table under its new owner."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0002_fix_invalid_device_slugs"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="device",
                    name="organization",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="devices", to="accounts.organization"),
                ),
                migrations.DeleteModel(name="ApiKey"),
                migrations.DeleteModel(name="Membership"),
                migrations.DeleteModel(name="Organization"),
            ],
        ),
    ]
