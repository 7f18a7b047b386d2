"""`manage.py demo_seed`: the demo org, users, devices and keys; safe to run again.

Keys go to var/demo-keys.env (mode 0600). A re-run keeps the keys there if
they still authenticate with the expected grants, so running agents keep working.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts import services as accounts
from accounts.models import ApiKey, Membership, Organization
from devices import services
from devices.models import Device

# Scopes registered by ingest (named, not imported: ingest is a higher layer).
METRICS_WRITE, METRICS_READ = "metrics:write", "metrics:read"

DEMO_ORG = "Demo"
DEMO_SLUG = "demo"
DEVICES = ("edge-01", "edge-02")


@dataclass(frozen=True)
class KeySpec:
    env_name: str
    name: str
    scopes: tuple[str, ...]
    device: str | None = None


KEYS = (
    KeySpec("BEACON_DEMO_WRITE_KEY", "demo writer (org-wide)", (METRICS_WRITE,)),
    KeySpec("BEACON_DEMO_READ_KEY", "demo reader", (METRICS_READ,)),
    KeySpec("BEACON_EDGE01_KEY", "edge-01 agent", (METRICS_WRITE,), device="edge-01"),
    KeySpec("BEACON_DEMO_LOADTEST_KEY", "demo Locust runs", ("loadtests:write", METRICS_READ)),
)


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Write atomically; the file is created 0600 so the keys are never world-readable, not even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Written by `manage.py demo_seed`. Demo credentials; do not reuse in production.\n")
        fh.writelines(f"{name}={value}\n" for name, value in values.items())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _key_still_valid(plaintext: str | None, spec: KeySpec, org: Organization) -> ApiKey | None:
    if not plaintext:
        return None
    api_key = accounts.api_key_authenticate(plaintext)
    if api_key is None or api_key.organization_id != org.id or sorted(api_key.scopes) != sorted(spec.scopes):
        return None
    bound_to = api_key.device.name if api_key.device is not None else None
    return api_key if bound_to == spec.device else None


class Command(BaseCommand):
    help = "Create or complete the demo data: org 'Demo', users (demo mode only), two devices, three API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keys-file", help="Where to write the keys (default: var/demo-keys.env).")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="BEACON_URL written to the keys file.")

    def handle(self, *args: Any, keys_file: str | None, url: str, **options: Any) -> None:
        path = Path(keys_file) if keys_file else Path(settings.VAR_DIR) / "demo-keys.env"
        with transaction.atomic():
            org = self._org()
            self._users(org)
            devices = {name: self._device(org, name) for name in DEVICES}
            values = {"BEACON_URL": url}
            existing = read_env_file(path)
            for spec in KEYS:
                values[spec.env_name] = self._key(org, spec, existing.get(spec.env_name), devices)
        write_env_file(path, values)
        self.stdout.write(f"Keys written to {path} (mode 0600).")

    def _org(self) -> Organization:
        org = Organization.objects.filter(slug=DEMO_SLUG).first()
        if org is not None:
            self.stdout.write(f"Organization {org.name!r} exists.")
            return org
        org = accounts.organization_create(name=DEMO_ORG, slug=DEMO_SLUG)
        self.stdout.write(f"Created organization {org.name!r}.")
        return org

    def _users(self, org: Organization) -> None:
        if not (settings.DEBUG and settings.DEMO_MODE):
            self.stderr.write(
                "Not creating the demo users admin/admin and customer/customer: their passwords are public, so "
                "demo_seed creates them only when DEBUG=1 and BEACON_DEMO=1. "
                "Create a real admin with: python manage.py createsuperuser"
            )
            return
        users = get_user_model().objects
        admin = users.filter(username="admin").first()
        if admin is None:
            users.create_superuser(username="admin", email="admin@example.com", password="admin")  # noqa: S106 - demo only, gated above
            self.stdout.write("Created superuser admin / admin (demo mode only).")
        else:
            self.stdout.write("User admin exists; password left unchanged.")
        customer = users.filter(username="customer").first()
        if customer is None:
            customer = users.create_user(username="customer", email="customer@example.com", password="customer")  # noqa: S106 - demo only
            self.stdout.write("Created user customer / customer (demo mode only).")
        else:
            self.stdout.write("User customer exists; password left unchanged.")
        accounts.membership_grant(user=customer, organization=org, role=Membership.Role.VIEWER)
        self.stdout.write(f"customer is a viewer of {org.slug}.")

    def _device(self, org: Organization, name: str) -> Device:
        device = Device.objects.filter(organization=org, name=name).first()
        if device is not None:
            self.stdout.write(f"Device {name} exists.")
            return device
        self.stdout.write(f"Created device {name}.")
        return services.device_create(organization=org, name=name, tags={"site": "demo"})

    def _key(self, org: Organization, spec: KeySpec, current: str | None, devices: dict[str, Device]) -> str:
        kept = _key_still_valid(current, spec, org)
        if kept is not None and current is not None:
            self.stdout.write(f"{spec.env_name}: kept {kept.prefix}… (still valid).")
            return current
        issued = accounts.api_key_issue(
            organization=org,
            name=spec.name,
            scopes=list(spec.scopes),
            device=devices[spec.device] if spec.device else None,
        )
        self.stdout.write(f"{spec.env_name}: issued {issued.api_key.prefix}… ({', '.join(spec.scopes)}).")
        return issued.plaintext
