"""The alerts pages in a real browser (Playwright driving Debian's chromium against a live server).

An org admin signs in, creates a threshold rule and a silence from the page; an evaluation makes one device
fire and another (silenced) show as silenced; the overview shows the firing count; a viewer sees the states
but no editing controls. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from accounts import services as accounts
from accounts.models import AuditEntry, Membership
from alerts.evaluation import evaluate_all
from alerts.models import AlertRule, Silence
from devices import services as devices
from tests.pages.conftest import SHOTS, browser  # noqa: F401 - the shared chromium fixture
from timeseries import Point, get_store

pytestmark = [pytest.mark.timeout(180), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def _live(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop in this thread; the ORM runs between its calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.RATELIMIT_ENABLE = False
    settings.TIMESERIES_BACKEND = "sql"


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_creates_a_rule_and_a_silence_and_sees_firing_and_silenced(
    live_server: Any,
    browser: Any,  # noqa: F811 - the fixture imported above
    settings: Any,
    _live: None,
) -> None:
    org = accounts.organization_create(name="Acme Alerts")
    admin = User.objects.create_user(username="boss", password="boss-pw-123")
    viewer = User.objects.create_user(username="watcher", password="watcher-pw-123")
    accounts.membership_grant(user=admin, organization=org, role=Membership.Role.ADMIN)
    accounts.membership_grant(user=viewer, organization=org, role=Membership.Role.VIEWER)
    for name in ("edge-01", "edge-02", "edge-03"):
        devices.device_create(organization=org, name=name)
    now_ns = int(datetime.now(UTC).timestamp()) * 10**9
    get_store().write(
        tenant=str(org.id),
        points=[
            Point("cpu", {"device": d}, {"usage_user": v}, now_ns)
            for d, v in (("edge-01", 97.0), ("edge-02", 99.0), ("edge-03", 10.0))
        ],
    )
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, base, "boss", "boss-pw-123")
    page.wait_for_url(f"{base}/o/{org.slug}/")
    page.get_by_role("link", name="Alerts", exact=True).click()
    page.wait_for_url(f"{base}/o/{org.slug}/alerts/")
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("cpu hot")
    page.get_by_label("Kind").select_option("threshold")
    page.get_by_label("Measurement").fill("cpu")
    page.get_by_label(re.compile(r"^Field:?$")).fill("usage_user")
    page.get_by_label(re.compile(r"^Value:?$")).fill("90")
    page.get_by_label("Recovery value").fill("80")
    page.get_by_label("Recipients").fill("noc@example.com")
    page.screenshot(path=str(SHOTS / "alerts-rule-form.png"), full_page=True)
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url(f"{base}/o/{org.slug}/alerts/")
    assert "Rule 'cpu hot' saved." in page.inner_text(".flash")
    rule = AlertRule.objects.get()
    assert (rule.kind, rule.value, rule.recovery_value, rule.recipients) == (
        "threshold",
        90.0,
        80.0,
        ["noc@example.com"],
    )
    page.locator(f"tr[data-rule='{rule.id}']").get_by_role("link", name="Silence").click()
    page.get_by_label("edge-02").check()
    page.get_by_label("Reason").fill("fan replacement")
    page.get_by_role("button", name="Save silence").click()
    page.wait_for_url(f"{base}/o/{org.slug}/alerts/")
    silence = Silence.objects.get()
    assert (silence.rule, [d.name for d in silence.devices.all()], silence.reason) == (
        rule,
        ["edge-02"],
        "fan replacement",
    )
    evaluate_all()
    page.reload()
    firing = page.locator("section[data-section='firing'] tbody tr")
    silenced = page.locator("section[data-section='silenced'] tbody tr")
    assert firing.count() == 1 and "edge-01" in firing.inner_text() and "97" in firing.inner_text()
    assert silenced.count() == 1 and "edge-02" in silenced.inner_text() and "silenced (firing)" in silenced.inner_text()
    page.screenshot(path=str(SHOTS / "alerts-admin.png"), full_page=True)
    page.goto(f"{base}/o/{org.slug}/")
    assert page.locator("[data-firing]").get_attribute("data-firing") == "1"
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["alert_rule.create", "silence.create"]
    context.close()

    # At phone width the admin's wide tables scroll inside their cards; the page itself never scrolls sideways
    # (the visually-hidden "Actions" header once sat outside the scroll box and made it 763 px wide).
    phone = browser.new_context(viewport={"width": 375, "height": 800}, timezone_id="UTC")
    page = phone.new_page()
    _sign_in(page, base, "boss", "boss-pw-123")
    page.wait_for_url(f"{base}/o/{org.slug}/")
    page.goto(f"{base}/o/{org.slug}/alerts/")
    assert page.locator("table.rules tbody tr").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(SHOTS / "alerts-admin-phone.png"), full_page=True)
    phone.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, base, "watcher", "watcher-pw-123")
    page.wait_for_url(f"{base}/o/{org.slug}/")
    page.goto(f"{base}/o/{org.slug}/alerts/")
    assert page.locator("section[data-section='firing'] tbody tr").count() == 1
    assert page.get_by_role("link", name="New rule").count() == 0 and page.get_by_role("link", name="Edit").count() == 0
    page.screenshot(path=str(SHOTS / "alerts-viewer.png"), full_page=True)
    assert page.goto(f"{base}/o/{org.slug}/alerts/rules/new").status == 403  # type: ignore[union-attr]
    context.close()
    assert errors == []


def test_the_device_page_lists_its_alerts_and_shades_its_own_firing_periods(
    live_server: Any,
    browser: Any,  # noqa: F811 - the fixture imported above
    settings: Any,
    _live: None,
) -> None:
    settings.CHART_BANDS = ["alerts.sections.chart_bands"]
    org = accounts.organization_create(name="Acme Devices")
    viewer = User.objects.create_user(username="watcher", password="watcher-pw-123")
    accounts.membership_grant(user=viewer, organization=org, role=Membership.Role.VIEWER)
    for name in ("edge-01", "edge-02"):
        devices.device_create(organization=org, name=name)
    now = datetime.now(UTC).replace(microsecond=0)
    # Minutes ago and CPU: both hot 20 minutes ago; 10 minutes ago edge-01 still hot, edge-02 back to normal.
    minutes = [("edge-01", 20, 97.0), ("edge-02", 20, 97.0), ("edge-01", 10, 97.0), ("edge-02", 10, 10.0)]
    get_store().write(
        tenant=str(org.id),
        points=[
            Point("cpu", {"device": d}, {"usage_user": v}, int((now - timedelta(minutes=m)).timestamp()) * 10**9)
            for d, m, v in minutes
        ],
    )
    AlertRule.objects.create(
        organization=org, name="cpu hot", kind="threshold", measurement="cpu", field="usage_user",
        aggregation="last", window_seconds=600, operator=">", value=90.0, recipients=["noc@example.com"],
    )  # fmt: skip
    evaluate_all(now=now - timedelta(minutes=15))  # both fire
    evaluate_all(now=now - timedelta(minutes=5))  # edge-02 back at 10 %: resolved; edge-01 still firing
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, live_server.url, "watcher", "watcher-pw-123")
    page.wait_for_url(f"{live_server.url}/o/{org.slug}/")
    legend = "() => Array.from(document.querySelectorAll('#bands-legend li a')).map(a => a.textContent)"
    for device, state_rows, history in (("edge-01", 1, 1), ("edge-02", 0, 2)):
        page.goto(f"{live_server.url}/o/{org.slug}/devices/{device}/")
        page.wait_for_function("document.getElementById('chart-cpu').dataset.bands === '1'")
        assert page.evaluate(legend) == [f"cpu hot: {device}"]  # its own period, not the other device's
        rows = page.locator("section[data-section='device-alerts'] tbody tr")
        assert rows.count() == state_rows
        if state_rows:
            assert "cpu hot" in rows.inner_text() and "firing" in rows.inner_text() and "97" in rows.inner_text()
        kinds = page.locator("section[data-section='device-alert-history'] tbody tr")
        assert kinds.evaluate_all("rows => rows.map(r => r.dataset.kind)") == ["firing", "resolved"][:history][::-1]
        page.screenshot(path=str(SHOTS / f"alerts-device-{device}.png"), full_page=True)
    context.close()
    assert errors == []
