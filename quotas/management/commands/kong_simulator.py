"""`manage.py kong_simulator`: two Kong-format nodes (2.8 and 3.7 style) with steady traffic, one restarting.

For `make demo` (and trying the scraper by hand): node A speaks Kong 2.8 (`kong_bandwidth{service,route,type}`),
node B Kong 3.7 (`kong_bandwidth_bytes{service,route,direction,workspace,consumer}`); node A's nginx
"restarts" every --restart-every seconds, so the scraper's reset detection is exercised continuously.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from quotas.simulator import KongNode

ROUTES = {"shop-svc": ("checkout", "search"), "maps-svc": ("tiles",)}


class Command(BaseCommand):
    help = "Serve two simulated Kong nodes' /metrics with live bandwidth counters until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--ports", default="9180,9181", help="node A (2.8), node B (3.7)")
        parser.add_argument("--bytes-per-second", type=int, default=25_000, help="egress of shop-svc, all nodes")
        parser.add_argument("--restart-every", type=int, default=150, help="seconds between node A restarts; 0: never")

    def handle(self, *args: Any, host: str, ports: str, bytes_per_second: int, restart_every: int, **_: Any) -> None:
        port_a, port_b = (int(p) for p in ports.split(","))
        node_a, node_b = KongNode("2.8"), KongNode("3.7")
        self.stdout.write(f"node A (Kong 2.8 format): {node_a.start(port_a, host)}")
        self.stdout.write(f"node B (Kong 3.7 format): {node_b.start(port_b, host)}")
        started = last_restart = time.monotonic()
        try:
            while True:
                time.sleep(1)
                for node in (node_a, node_b):
                    for service, routes in ROUTES.items():
                        share = bytes_per_second / 2 / len(routes) * (1 if service == "shop-svc" else 0.2)
                        for route in routes:
                            egress = share * random.uniform(0.8, 1.2)
                            consumer = random.choice(["", "mobile-app"]) if node is node_b else ""
                            node.add(service, route, "egress", round(egress), consumer=consumer)
                            node.add(service, route, "ingress", round(egress / 20), consumer=consumer)
                now = time.monotonic()
                if restart_every and now - last_restart >= restart_every:
                    node_a.restart()
                    last_restart = now
                    self.stdout.write(f"node A restarted after {now - started:.0f}s (counters back to 0)")
        except KeyboardInterrupt:
            pass
        finally:
            node_a.stop()
            node_b.stop()
