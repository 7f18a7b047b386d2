"""Fixtures: a real SMTP server and a real webhook receiver on loopback, and Django pointed at them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.notify_servers import SmtpSink, WebhookReceiver


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpSink]:
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP verb at INFO
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()


@pytest.fixture
def receiver(settings) -> Iterator[WebhookReceiver]:
    settings.SCRAPE_ALLOW_PRIVATE = True  # the receiver is on loopback
    hooks = WebhookReceiver()
    hooks.start()
    yield hooks
    hooks.stop()
