"""Devices registered with names like "😀" or "../.." got the raw name as slug; give them a valid one."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.db import migrations

_VALID = re.compile(r"^[-a-zA-Z0-9_]+\Z")


def fix_slugs(apps: Any, schema_editor: Any) -> None:
    Device = apps.get_model("devices", "Device")
    for device in Device.objects.all().only("id", "name", "slug").iterator():
        if _VALID.match(device.slug):
            continue
        # Same rule as devices.services.device_slug for names that slugify to nothing.
        digest = hashlib.sha256(device.name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        Device.objects.filter(id=device.id).update(slug=f"device-{digest}")


class Migration(migrations.Migration):
    dependencies = [("devices", "0001_initial")]

    operations = [migrations.RunPython(fix_slugs, migrations.RunPython.noop)]
