"""The run page in a real browser (Playwright, Debian's chromium): charts drawn from the run's stats series,
live while the run is running, and the final stats table after the commit."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.contrib.auth.models import User

from accounts import services as accounts
from accounts.models import Membership
from tests.loadtests.conftest import entry
from tests.pages.conftest import SHOTS

pytestmark = pytest.mark.timeout(180)


def _post(base: str, key: str, path: str, body: Any) -> Any:
    response = requests.post(f"{base}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


def _points(page: Any) -> dict[str, str]:
    return page.eval_on_selector_all(
        "figure.chart", "els => Object.fromEntries(els.map(e => [e.dataset.chart, e.dataset.points]))"
    )


def test_run_page_draws_the_series_live_then_the_final_table(
    transactional_db: None,
    live_server: Any,
    browser: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PAGES_REFRESH_SECONDS = 1
    settings.RATELIMIT_ENABLE = False
    org = accounts.organization_create(name="Acme Load")
    customer = User.objects.create_user(username="customer", password="customer-pw-123")
    accounts.membership_grant(user=customer, organization=org, role=Membership.Role.VIEWER)
    key = accounts.api_key_issue(organization=org, name="locust", scopes=["loadtests:write"]).plaintext
    base = live_server.url
    run = _post(base, key, "/api/v1/loadtests/", {"plan": "checkout", "users": 8, "target_host": "http://shop"})["uuid"]
    for i in range(3):
        _post(
            base,
            key,
            f"/api/v1/loadtests/{run}/stats",
            {"interval": 1, "users": 4 + 2 * i, "entries": [entry("/", "GET", {10: 5 + i, 40: 1})]},
        )

    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/accounts/login/?next=/o/{org.slug}/loadtests/")
    page.get_by_label("Username").fill("customer")
    page.get_by_label("Password").fill("customer-pw-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/o/{org.slug}/loadtests/")
    page.get_by_role("link", name="Load tests").first.is_visible()
    page.locator(f'tr[data-run="{run}"] a').click()
    page.wait_for_url(f"{base}/o/{org.slug}/loadtests/{run}/")
    page.wait_for_function("document.getElementById('chart-rps').dataset.points === '3'", timeout=20_000)
    assert _points(page) == {"rps": "3", "latency": "3", "users": "3"}
    summary = page.locator("#chart-users .chart-summary").text_content() or ""
    assert "latest: users 8.00" in summary
    assert "p95 40.00 ms" in (page.locator("#chart-latency .chart-summary").text_content() or "")

    # A fourth report arrives while the page is open; then the commit: the page's charts follow and stop.
    _post(
        base,
        key,
        f"/api/v1/loadtests/{run}/stats",
        {"interval": 1, "users": 8, "entries": [entry("/", "GET", {10: 9})]},
    )
    page.wait_for_function("document.getElementById('chart-rps').dataset.points === '4'", timeout=20_000)
    _post(base, key, f"/api/v1/loadtests/{run}/commit", {"entries": [entry("/", "GET", {10: 27, 40: 3})]})
    page.wait_for_function("document.getElementById('live-status').textContent.includes('completed')", timeout=20_000)
    page.reload()
    rows = page.eval_on_selector_all(
        "table.final-stats tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))"
    )
    assert [r[:3] for r in rows] == [["Aggregated", "30", "0 (0 %)"], ["GET /", "30", "0 (0 %)"]]
    assert [r[5:8] for r in rows] == [["10", "40", "40"], ["10", "40", "40"]]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "loadtest-run.png"), full_page=True)
    assert errors == []
    context.close()
