"""Enqueueing while the Redis broker is frozen or cut: bounded, recorded, delivered by the sweep afterwards.

`notification_send` enqueues its deliveries on commit. A separate process with the production settings
(so the broker's socket timeouts and publish retry policy are the real ones) sends through a TCP proxy in
front of Redis; the call must return within a bound and leave a pending Delivery row that the sweep delivers
once, to a real SMTP server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Organization
from notifications import attempts
from notifications.models import Delivery
from tests.proxy import TcpProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BOUND_S = 12.0  # loose: 2 s socket timeout, 2 quick retries, plus interpreter start-up on a shared machine
SEND = """
import time, django
django.setup()
from accounts.models import Organization
from notifications.services import notification_send
started = time.monotonic()
notification_send(organization=Organization.objects.get(slug={slug!r}), kind="test", event_type="test.broker",
                  dedup_key={key!r}, subject="broker down", text="t", payload={{}}, emails=["noc@example.com"])
print("SECONDS", time.monotonic() - started)
"""


@pytest.fixture
def broker_proxy() -> Iterator[TcpProxy]:
    from tests.celery_fixtures import _redis_up
    from tests.conftest import require_server

    require_server(_redis_up(), "Redis is not running on 127.0.0.1:6379")
    proxy = TcpProxy("127.0.0.1", 6379)
    yield proxy
    proxy.close()


def _send(proxy: TcpProxy, settings: Any, org: Organization, key: str) -> float:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (the sender is another process)")
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_URL"}},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@127.0.0.1:{db.get('PORT') or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{proxy.port}/13",
        "DEBUG": "1",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SEND.format(slug=org.slug, key=key)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "could not enqueue delivery" in done.stdout + done.stderr  # the warning says the sweep will deliver it
    return time.monotonic() - started


@pytest.mark.parametrize("mode", ["freeze", "cut"])
def test_a_send_with_the_broker_down_returns_quickly_and_the_sweep_delivers_once(
    broker_proxy: TcpProxy, settings: Any, org: Organization, smtp_server: Any, mode: str
) -> None:
    getattr(broker_proxy, mode)()
    seconds = _send(broker_proxy, settings, org, key=f"broker-{mode}")
    assert seconds < BOUND_S, seconds  # before CELERY_BROKER_TIMEOUT_MS a frozen broker hung the caller
    [delivery] = Delivery.objects.all()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 0
    broker_proxy.restore()

    assert attempts.run_due() == 1  # the periodic sweep (notifications.deliver_due), inline
    assert attempts.run_due() == 0
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert [m.rcpt_tos for m in smtp_server.messages] == [["noc@example.com"]]
