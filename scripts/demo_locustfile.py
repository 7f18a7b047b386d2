"""The demo's load test (scripts/demo_loadtests.sh): a light read of the portal's own health endpoints."""

import beacon_client.locust  # noqa: F401 - reports the run to Beacon
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.2)

    @task(3)
    def health(self) -> None:
        self.client.get("/health")

    @task(1)
    def landing(self) -> None:
        self.client.get("/")
