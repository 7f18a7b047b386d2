"""Delivery attempts as Beacon's own metrics count them (`/-/metrics`), through a real SMTP server."""

from __future__ import annotations

from notifications.services import deliveries_run_due
from tests.notifications.helpers import send
from tests.portal.test_opsmetrics import TOKEN, samples, value


def test_deliveries_are_counted_by_channel_and_result(org, smtp_server, settings) -> None:
    settings.OPS_METRICS_TOKEN = TOKEN
    smtp_server.refuse.add("gone@example.com")
    before = samples()
    send(org, dedup_key="ops:1", subject="s", text="t", html="<p>t</p>", payload={}, emails=["ops@example.com"])
    send(org, dedup_key="ops:2", subject="s", text="t", html="<p>t</p>", payload={}, emails=["gone@example.com"])
    assert deliveries_run_due() == 2
    settings.EMAIL_PORT = smtp_server.port
    smtp_server.stop()
    send(org, dedup_key="ops:3", subject="s", text="t", html="<p>t</p>", payload={}, emails=["late@example.com"])
    assert deliveries_run_due() == 1  # refused connection: retried later
    after = samples()
    assert len(smtp_server.messages) == 1

    def delta(outcome: str) -> float:
        labels = {"channel": "email", "outcome": outcome}
        return value(after, "beacon_notification_deliveries_total", **labels) - value(
            before, "beacon_notification_deliveries_total", **labels
        )

    assert (delta("sent"), delta("failed"), delta("retry")) == (1, 1, 1)
