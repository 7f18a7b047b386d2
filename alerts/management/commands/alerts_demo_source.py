"""`manage.py alerts_demo_source`: the demo's simulated device, crossing the demo rules on a 7-minute loop.

0-2.5 min: cpu 95 % (CPU busy fires after its minute pending); 2.5-5 min: cpu 20 % (resolved);
5-7 min: silent (Device offline fires after 60 s + 30 s; resolved when the loop starts again).
Writes go to the store as ingest's would (device tag, last_seen), every `--interval` seconds, until Ctrl-C.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.management.commands.alerts_demo_seed import SIMULATED
from alerts.readings import DEVICE_TAG
from devices import services as devices
from devices.models import Device
from timeseries import Point, StoreError, get_store

LOOP_SECONDS = 420
PHASES = ((150, 95.0), (300, 20.0))  # until second N of the loop: that cpu; then silent


class Command(BaseCommand):
    help = "Feed the simulated demo device (edge-sim) so the demo alert rules fire and resolve."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default="demo")
        parser.add_argument("--interval", type=float, default=5.0)
        parser.add_argument("--once", action="store_true", help="write one point now and exit")

    def handle(self, *args: Any, org: str, interval: float, once: bool, **options: Any) -> None:
        device = Device.objects.filter(organization__slug=org, name=SIMULATED).first()
        if device is None:
            raise CommandError(f"no device {SIMULATED} in {org!r}; run `manage.py alerts_demo_seed` first")
        started = time.time()
        while True:
            into = (time.time() - started) % LOOP_SECONDS
            cpu = next((value for until, value in PHASES if into < until), None)
            if cpu is not None:
                now_ns = time.time_ns()
                points = [
                    Point("cpu", {DEVICE_TAG: device.name, "cpu": "cpu-total"}, {"usage_user": cpu}, now_ns),
                    Point("disk", {DEVICE_TAG: device.name, "path": "/"}, {"used_percent": 42.0}, now_ns),
                ]
                try:
                    get_store().write(tenant=str(device.organization_id), points=points)
                    devices.devices_mark_seen(device_ids=[device.id])
                except StoreError as exc:
                    self.stderr.write(f"store: {exc}")
            if once:
                return
            time.sleep(interval)
