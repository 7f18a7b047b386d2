"""`manage.py scrape`: scrape, evaluate and deliver inline, with progress output."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from quotas.models import GatewayService, Quota


@pytest.mark.django_db
def test_scrape_command_counts_evaluates_and_delivers(
    shop: GatewayService, kong_node: Callable, make_target: Callable, smtp_server: Any
) -> None:
    Quota.objects.create(service=shop, period="daily", limit_bytes=1_000, recipients=["ops@example.com"])
    node, url = kong_node("2.0")
    target = make_target(url)
    dead = make_target("http://127.0.0.1:9/metrics", enabled=False)
    node.add("shop-svc", "r", "egress", 5)
    out = io.StringIO()
    call_command("scrape", stdout=out)
    assert f"scraping {target.id} (exporter {url}) ... 1 series, 0 bytes counted, 1 new (baseline)" in out.getvalue()
    node.add("shop-svc", "r", "egress", 1_000)
    out = io.StringIO()
    call_command("scrape", "--target", str(target.id), stdout=out)
    text = out.getvalue()
    assert "1 series, 1000 bytes counted" in text
    assert "100.0% used, 100% threshold: notification created" in text
    assert "deliveries attempted: 1" in text
    assert len(smtp_server.messages) == 1 and "(100% threshold)" in smtp_server.messages[0].message["Subject"]
    with pytest.raises(CommandError, match="1 of 1 target"):
        call_command("scrape", "--target", str(dead.id), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no scrape target with id 999"):
        call_command("scrape", "--target", "999", stdout=io.StringIO())
