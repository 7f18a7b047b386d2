"""The customer pages in a real browser: Playwright (PyPI) driving Debian's chromium against a live server.

Sign in as a customer, open the overview and the device page, check each chart drew the number of points the
history API gives for the stored data, switch ranges (presets and custom), and see a newly written point
arrive without a reload. A screenshot of each page goes to var/screenshots/ (look at them).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import User

from accounts import services as accounts
from accounts.models import Membership
from devices import services as devices
from portal.api.timeparams import auto_step
from tests.pages.conftest import SHOTS

# Minutes ago of each stored point: in the last hour, the last day, week and month.
AGES_MIN = [5, 15, 25, 35, 45, 2 * 60, 5 * 60, 10 * 60, 3 * 1440, 5 * 1440, 20 * 1440]
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}

pytestmark = pytest.mark.timeout(180)


def expected_points(times: list[int], span: timedelta, now: datetime) -> int:
    """Buckets the history API fills for `times` (epoch s) in [now - span, now): its own automatic step."""
    step = auto_step(now - span, now, django_settings.HISTORY_MAX_POINTS).total_seconds()
    start = (now - span).timestamp()
    return len({math.floor(t / step) for t in times if start <= t < now.timestamp()})


def write_line(base: str, key: str, body: str) -> None:
    response = requests.post(
        f"{base}/api/v2/write?precision=s", data=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert response.status_code == 204, response.text


def chart_points(page: Any) -> dict[str, str]:
    return page.eval_on_selector_all(
        "figure.chart", "els => Object.fromEntries(els.map(e => [e.dataset.chart, e.dataset.points]))"
    )


def wait_points(page: Any, chart: str, count: int, loads_after: int = 0) -> None:
    page.wait_for_function(
        "([id, n, after]) => { const f = document.getElementById('chart-' + id);"
        " return f.dataset.points === String(n) && Number(f.dataset.loads || 0) > after; }",
        arg=[chart, count, loads_after],
        timeout=20_000,
    )


def loads(page: Any, chart: str) -> int:
    return int(page.eval_on_selector(f"#chart-{chart}", "f => Number(f.dataset.loads || 0)"))


def test_customer_signs_in_and_watches_live_charts(
    transactional_db: None, live_server: Any, browser: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Playwright's sync API keeps an event loop in this thread; the ORM is only used before it starts.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PAGES_REFRESH_SECONDS = 1
    settings.RATELIMIT_ENABLE = False
    org = accounts.organization_create(name="Acme Browser")
    accounts.organization_create(name="Other Org")
    customer = User.objects.create_user(username="customer", password="customer-pw-123")
    accounts.membership_grant(user=customer, organization=org, role=Membership.Role.VIEWER)
    devices.device_create(organization=org, name="edge-01")
    devices.device_create(organization=org, name="edge-02")  # never sends: unseen
    key = accounts.api_key_issue(organization=org, name="writer", scopes=["metrics:write"]).plaintext
    base = live_server.url
    now = datetime.now(UTC)
    times = [int((now - timedelta(minutes=m)).timestamp()) for m in AGES_MIN]
    lines = [
        f"cpu,device=edge-01,cpu=cpu-total usage_user={10 + i}.5,usage_system={i}.25,usage_iowait=0.5 {t}\n"
        f"mem,device=edge-01 used_percent={40 + i}.0,total=8000000000i {t}"
        for i, t in enumerate(times)
    ]
    write_line(base, key, "\n".join(lines))
    SHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/")
    assert page.get_by_role("link", name="Sign in").is_visible()
    page.screenshot(path=str(SHOTS / "landing.png"), full_page=True)

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("customer")
    page.get_by_label("Password").fill("customer-pw-123")
    page.screenshot(path=str(SHOTS / "login.png"), full_page=True)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/o/{org.slug}/")
    rows = page.eval_on_selector_all(
        "table.devices tbody tr",
        "rows => rows.map(r => [r.dataset.device, r.querySelector('.state').textContent.trim()])",
    )
    assert rows == [["edge-01", "live"], ["edge-02", "unseen"]]
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

    page.get_by_role("link", name="edge-01").click()
    page.wait_for_url(f"{base}/o/{org.slug}/devices/edge-01/")
    expected = {name: expected_points(times, span, datetime.now(UTC)) for name, span in RANGES.items()}
    assert expected["1h"] == 5 and expected["24h"] == 8  # the data spans the ranges as meant
    for chart, count in (("cpu", expected["1h"]), ("mem", expected["1h"])):
        wait_points(page, chart, count)
    assert chart_points(page) == {"cpu": "5", "mem": "5", "disk": "", "net": "", "chosen": ""}
    # Disk and network were never written: their charts say where the data comes from instead.
    assert page.locator(".chart-missing").count() == 2
    assert page.locator("#chart-disk .chart-missing").text_content().startswith("No disk data from edge-01.")
    latest = page.locator('[data-latest="mem||used_percent"]').text_content()
    assert latest == "40.0"  # the newest stored point (i = 0)
    page.screenshot(path=str(SHOTS / "device.png"), full_page=True)

    for name in ("24h", "7d", "30d", "1h"):
        before = loads(page, "cpu")
        page.get_by_label({"1h": "1 hour", "24h": "24 hours", "7d": "7 days", "30d": "30 days"}[name]).check()
        wait_points(page, "cpu", expected[name], before)
        assert chart_points(page)["mem"] == str(expected[name]), name

    # A new point arrives while the page is open: the 1-hour charts and the latest value follow without a reload.
    before = loads(page, "cpu")
    fresh = int(time.time()) - 1
    write_line(
        base,
        key,
        f"cpu,device=edge-01,cpu=cpu-total usage_user=77.5,usage_system=1.0,usage_iowait=0.0 {fresh}\n"
        f"mem,device=edge-01 used_percent=88.25 {fresh}",
    )
    wait_points(page, "cpu", expected["1h"] + 1, before)
    page.wait_for_function("document.querySelector('[data-latest=\"mem||used_percent\"]').textContent === '88.25'")

    # A chosen field gets its own chart; a custom range of 12 h to 1 h ago holds the 2, 5 and 10 h points.
    page.get_by_label("Chart any field", exact=True).select_option("mem.total")
    wait_points(page, "chosen", expected["1h"])  # `total` was written with the first batch only
    page.get_by_label("Custom").check()
    fmt = "%Y-%m-%dT%H:%M"
    page.get_by_label("From").fill((datetime.now(UTC) - timedelta(hours=12)).strftime(fmt))
    page.get_by_label("to", exact=True).fill((datetime.now(UTC) - timedelta(hours=1)).strftime(fmt))
    before = loads(page, "cpu")
    page.get_by_role("button", name="Show").click()
    wait_points(page, "cpu", 3, before)
    page.wait_for_function("document.getElementById('live-status').textContent.includes('not refreshing')")
    page.screenshot(path=str(SHOTS / "device-custom-range.png"), full_page=True)

    # At phone width the page still fits: no horizontal scrolling of the whole page.
    phone = context.new_page()
    phone.set_viewport_size({"width": 375, "height": 812})
    phone.goto(f"{base}/o/{org.slug}/devices/edge-01/")
    wait_points(phone, "cpu", expected["1h"] + 1)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=str(SHOTS / "device-phone.png"), full_page=True)

    # The customer at the admin is told where to go; another org's page is a 404.
    page.goto(f"{base}/admin/")
    assert page.get_by_role("heading", name="The admin is for Beacon's staff").is_visible()
    page.screenshot(path=str(SHOTS / "admin-as-customer.png"), full_page=True)
    assert page.goto(f"{base}/o/other-org/").status == 404  # type: ignore[union-attr]
    assert errors == []
    context.close()
