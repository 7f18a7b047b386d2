"""A Kong node's Prometheus exporter, faithful to each plugin generation's metric name and label order.

Kong itself cannot run here, so the demo (`manage.py kong_simulator`) and the tests serve this instead,
over real HTTP. The text is written here rather than by prometheus_client's writer because that writer
sorts labels and names counters `*_total`, while Kong's Lua exporter keeps its own label order and bare
names (`kong_bandwidth{service=..,route=..,type=..} 123`); values use prometheus_client's Go-style float
formatting. `restart()` zeroes every counter, as a node's nginx restart does.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.utils import floatToGoString

# generation -> (metric name, label order); "type" is the 2.x name of the direction label.
GENERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "2.0": ("kong_bandwidth", ("type", "service", "route")),
    "2.8": ("kong_bandwidth", ("service", "route", "type")),
    "3.4": ("kong_bandwidth_bytes", ("service", "route", "direction", "consumer")),
    "3.7": ("kong_bandwidth_bytes", ("service", "route", "direction", "workspace", "consumer")),
}
_HELP = "Total bandwidth (ingress/egress) throughput in bytes"
# Kong exposes much more than bandwidth; a scraper must find its family among the rest.
_PREAMBLE = (
    "# HELP kong_datastore_reachable Datastore reachable from Kong, 0 is unreachable\n"
    "# TYPE kong_datastore_reachable gauge\n"
    "kong_datastore_reachable 1\n"
    "# HELP kong_http_requests_total HTTP status codes per consumer/service/route in Kong\n"
    "# TYPE kong_http_requests_total counter\n"
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class KongNode:
    def __init__(self, generation: str = "3.7", *, workspace: str = "default") -> None:
        if generation not in GENERATIONS:
            raise ValueError(f"generation {generation!r} is not one of {', '.join(GENERATIONS)}")
        self.generation = generation
        self.workspace = workspace
        self._counters: dict[tuple[str, str, str, str], float] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def add(self, service: str, route: str, direction: str, nbytes: float, consumer: str = "") -> None:
        with self._lock:
            key = (service, route, direction, consumer)
            self._counters[key] = self._counters.get(key, 0) + nbytes

    def restart(self) -> None:
        """nginx restarted: every counter is gone until traffic brings it back from 0."""
        with self._lock:
            self._counters.clear()

    def exposition(self) -> str:
        name, order = GENERATIONS[self.generation]
        with self._lock:
            items = sorted(self._counters.items())
        lines = [_PREAMBLE, f"# HELP {name} {_HELP}\n", f"# TYPE {name} counter\n"]
        for (service, route, direction, consumer), value in items:
            values = {
                "service": service,
                "route": route,
                "type": direction,
                "direction": direction,
                "consumer": consumer,
                "workspace": self.workspace,
            }
            labels = ",".join(f'{label}="{_escape(values[label])}"' for label in order)
            lines.append(f"{name}{{{labels}}} {floatToGoString(value)}\n")
        return "".join(lines)

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve /metrics on host:port (0 picks a free port); returns the URL."""
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = node.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, name=f"kong-{self.generation}", daemon=True).start()
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
