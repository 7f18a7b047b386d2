"""The service page, the overview's quota bars, per-mount device charts, phone width and the keyboard, in a
real browser (Playwright driving Debian's chromium against a live server). Screenshots in var/screenshots/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Membership, Organization
from devices import services as devices
from quotas.usage import Delta, add_usage, store_points
from tests.pages.conftest import SHOTS, Gateway, gateway_for

pytestmark = pytest.mark.timeout(180)
PASSWORD = "customer-pw-123"
PHONE = {"width": 375, "height": 812}
# uPlot paints on a canvas: read a pixel of the plot area (fractions of its box) to see what was drawn there.
PIXEL = """([id, fx, fy]) => {
  const fig = document.getElementById(id); const u = fig.querySelector('.uplot');
  const canvas = u.querySelector('canvas'); const box = canvas.getBoundingClientRect();
  const over = u.querySelector('.u-over').getBoundingClientRect(); const ratio = canvas.width / box.width;
  const x = Math.round((over.left - box.left + over.width * fx) * ratio);
  const y = Math.round((over.top - box.top + over.height * fy) * ratio);
  return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);
}"""


@pytest.fixture
def site(transactional_db: None, live_server: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # Playwright's sync API keeps an event loop in this thread; the ORM runs between its calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PAGES_REFRESH_SECONDS = 1
    settings.RATELIMIT_ENABLE = False
    settings.CHART_BANDS = ["tests.pages.band_sources.runs"]
    org = accounts.organization_create(name="Acme Gateways")
    customer = User.objects.create_user(username="customer", password=PASSWORD)
    accounts.membership_grant(user=customer, organization=org, role=Membership.Role.VIEWER)
    SHOTS.mkdir(parents=True, exist_ok=True)
    return {"org": org, "base": live_server.url, "gateway": gateway_for(org)}


def sign_in(browser: Any, base: str, viewport: dict[str, int] | None = None) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("customer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/o/**")
    return context, page, errors


def dataset(page: Any, figure: str) -> dict[str, str]:
    return page.eval_on_selector(f"#{figure}", "f => Object.assign({}, f.dataset)")


def wait_loaded(page: Any, figure: str, after: int = 0) -> None:
    page.wait_for_function(
        "([id, after]) => Number(document.getElementById(id).dataset.loads || 0) > after", arg=[figure, after]
    )


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def purple(rgba: list[int]) -> bool:
    """The band's translucent purple (122, 46, 154): red and blue well above green."""
    r, g, b, a = rgba
    return a > 0 and r - g > 15 and b - g > 30


def test_service_page_draws_traffic_the_quota_line_and_bands(site: dict[str, Any], browser: Any) -> None:
    org: Organization = site["org"]
    gateway: Gateway = site["gateway"]
    base = site["base"]
    context, page, errors = sign_in(browser, base)
    page.get_by_role("link", name="shop", exact=True).click()
    page.wait_for_url(f"{base}/o/{org.slug}/services/shop/")
    quota_figure = f"chart-quota-{gateway.quota.id}"
    wait_loaded(page, "chart-traffic")
    wait_loaded(page, quota_figure)
    # The status line is written once charts and bands are all in.
    page.wait_for_function("document.getElementById('live-status').textContent.startsWith('Updated')")

    traffic = dataset(page, "chart-traffic")
    # Five counted intervals in the last hour; the sums drawn are the bytes counted.
    assert (traffic["points"], traffic["ingress"], traffic["egress"]) == (
        "5",
        str(gateway.ingress),
        str(gateway.egress),
    )
    quota = dataset(page, quota_figure)
    # The limit line is drawn at the limit all along; the cumulative line ends at the bytes used.
    assert quota["quotaLine"] == quota["limit"] == str(gateway.quota.limit_bytes)
    assert quota["used"] == str(gateway.used)
    assert abs(int(quota["forecast"]) - gateway.quota.limit_bytes) <= 1  # the forecast line ends on the limit
    # The period's start, five intervals, where the forecast meets the limit, and the period's end.
    assert quota["points"] == "8"
    summary = page.locator(f"#{quota_figure} .chart-summary").text_content() or ""
    # 1.5 MB left at 98 B/s: the forecast meets the limit in about 4 h, well before the month ends.
    assert summary.startswith("8.5 MB counted this period of a 10.0 MB limit; at the last 24 h's rate the limit")
    # The band source answers two runs for any window: one inside it, one still running at its end.
    assert traffic["bands"] == "2" and quota["bands"] == "2"
    legend = page.locator("#bands-legend")
    assert legend.get_by_role("link", name=f"run 1 of {org.slug}").get_attribute("href") == f"/o/{org.slug}/runs/1/"
    # The band is painted where the run was (20 % into the hour) and nowhere between the runs (60 %).
    assert purple(page.evaluate(PIXEL, ["chart-traffic", 0.2, 0.47]))
    assert not purple(page.evaluate(PIXEL, ["chart-traffic", 0.6, 0.47]))
    # The quota's figures on the page are the stored ones.
    box = page.locator(f'[data-quota="{gateway.quota.id}"]')
    assert "8.5 MB of 10.0 MB (85.0 %, past 80 %)" in " ".join((box.text_content() or "").split())
    assert page.get_by_role("meter").get_attribute("aria-valuenow") == "85.0"
    page.screenshot(path=str(SHOTS / "service.png"), full_page=True)

    # Live: bytes counted while the page is open reach the bar and the quota chart without a reload.
    before = int(dataset(page, quota_figure)["loads"])
    fresh = [
        Delta(time=timezone.now(), service="shop-svc", route="", direction="egress", value=500_000),
    ]
    with transaction.atomic():
        store_points(organization_id=org.id, target_id=1, deltas=fresh)
        add_usage(organization_id=org.id, deltas=fresh)
    page.wait_for_function(
        "([id, used]) => document.getElementById(id).dataset.used === used",
        arg=[quota_figure, str(gateway.used + 500_000)],
    )
    assert int(dataset(page, quota_figure)["loads"]) > before
    page.wait_for_function(f"document.querySelector('[data-quota=\"{gateway.quota.id}\"]').dataset.percent === '90.0'")
    assert "9.0 MB of 10.0 MB (90.0 %, past 90 %)" in " ".join((box.text_content() or "").split())

    # Another range redraws the traffic with its bands; at phone width nothing scrolls sideways.
    before = int(dataset(page, "chart-traffic")["loads"])
    page.get_by_label("24 hours").check()
    wait_loaded(page, "chart-traffic", before)
    assert dataset(page, "chart-traffic")["ingress"] == str(gateway.ingress)
    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"{base}/o/{org.slug}/services/shop/")
    wait_loaded(phone, quota_figure)
    assert no_sideways_scroll(phone)
    phone.screenshot(path=str(SHOTS / "service-phone.png"), full_page=True)
    assert errors == []
    context.close()


def test_overview_quota_bars_and_phone_width(site: dict[str, Any], browser: Any) -> None:
    org: Organization = site["org"]
    gateway: Gateway = site["gateway"]
    context, page, errors = sign_in(browser, site["base"])
    bar = page.locator(f'[data-quota="{gateway.quota.id}"] .bar')
    fill = page.locator(f'[data-quota="{gateway.quota.id}"] .bar-fill')
    # The bar is filled to the share used: 85 % of its width (border excluded).
    widths = page.evaluate(
        "([a, b]) => [document.querySelector(a).clientWidth, document.querySelector(b).getBoundingClientRect().width]",
        [f'[data-quota="{gateway.quota.id}"] .bar', f'[data-quota="{gateway.quota.id}"] .bar-fill'],
    )
    assert abs(widths[1] / widths[0] - 0.85) < 0.01, widths
    assert bar.get_attribute("aria-label") == "total quota used: 85.0 %"
    assert fill.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(191, 135, 0)"  # past 80 %: amber
    text = page.locator('[data-section="quotas"]').text_content() or ""
    assert "8.5 MB of 10.0 MB (85.0 %, past 80 %)" in text and "Period ends" in text
    page.screenshot(path=str(SHOTS / "overview-quotas.png"), full_page=True)
    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"{site['base']}/o/{org.slug}/")
    assert no_sideways_scroll(phone)
    phone.screenshot(path=str(SHOTS / "overview-phone.png"), full_page=True)
    assert errors == []
    context.close()


def write_line(base: str, key: str, body: str) -> None:
    response = requests.post(
        f"{base}/api/v2/write?precision=s", data=body, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    assert response.status_code == 204, response.text


def test_device_page_draws_a_line_per_mount_and_interface(site: dict[str, Any], browser: Any) -> None:
    org: Organization = site["org"]
    base = site["base"]
    devices.device_create(organization=org, name="edge-01")
    key = accounts.api_key_issue(organization=org, name="writer", scopes=["metrics:write"]).plaintext
    now = datetime.now(UTC)
    lines = []
    for minutes in (30, 20, 10):
        t = int((now - timedelta(minutes=minutes)).timestamp())
        lines += [
            f"disk,device=edge-01,path=/,fstype=ext4 used_percent=40.0 {t}",
            f"disk,device=edge-01,path=/data,fstype=xfs used_percent=90.0 {t}",
            f"disk,device=edge-01,path=/boot,fstype=vfat used_percent=12.5 {t}",
            f"net,device=edge-01,interface=eth0 bytes_recv_per_sec=1000.0,bytes_sent_per_sec=200.0 {t}",
            f"net,device=edge-01,interface=wlan0 bytes_recv_per_sec=50.0,bytes_sent_per_sec=5.0 {t}",
        ]
    write_line(base, key, "\n".join(lines))
    context, page, errors = sign_in(browser, base)
    page.goto(f"{base}/o/{org.slug}/devices/edge-01/")
    wait_loaded(page, "chart-disk")
    wait_loaded(page, "chart-net")
    assert dataset(page, "chart-disk")["lines"] == "3" and dataset(page, "chart-disk")["points"] == "3"
    assert dataset(page, "chart-net")["lines"] == "4"
    labels = "f => Array.from(f.querySelectorAll('.u-series .u-label')).slice(1).map(e => e.textContent)"
    assert page.eval_on_selector("#chart-disk", labels) == ["/", "/boot", "/data"]
    assert page.eval_on_selector("#chart-net", labels) == [
        "eth0 bytes_recv",
        "wlan0 bytes_recv",
        "eth0 bytes_sent",
        "wlan0 bytes_sent",
    ]
    # Each mount's line holds its own values, not the mean over mounts (the summary names each line's latest).
    summary = page.locator("#chart-disk .chart-summary").text_content() or ""
    assert "latest: / 40.00 %, /boot 12.50 %, /data 90.00 %" in summary
    page.wait_for_function("document.getElementById('chart-disk').dataset.bands === '2'")
    page.screenshot(path=str(SHOTS / "device-mounts.png"), full_page=True)
    phone = context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"{base}/o/{org.slug}/devices/edge-01/")
    wait_loaded(phone, "chart-net")
    assert no_sideways_scroll(phone)
    phone.screenshot(path=str(SHOTS / "device-mounts-phone.png"), full_page=True)
    assert errors == []
    context.close()


def test_the_pages_work_from_the_keyboard(site: dict[str, Any], browser: Any) -> None:
    org: Organization = site["org"]
    base = site["base"]
    context, page, errors = sign_in(browser, base)
    page.goto(f"{base}/o/{org.slug}/services/shop/")
    wait_loaded(page, "chart-traffic")
    # The first Tab reaches the skip link, shown on focus; Enter moves to the content.
    page.keyboard.press("Tab")
    focused = "() => { const e = document.activeElement; const s = getComputedStyle(e);"
    focused += " return [e.textContent.trim(), s.outlineStyle, s.outlineWidth, e.getBoundingClientRect().left >= 0]; }"
    assert page.evaluate(focused) == ["Skip to content", "solid", "3px", True]
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tab on to the range picker; arrow keys change the range and the chart follows.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "range":
            break
    assert page.evaluate("[document.activeElement.value, getComputedStyle(document.activeElement).outlineStyle]") == [
        "1h",
        "solid",
    ]
    before = int(dataset(page, "chart-traffic")["loads"])
    page.keyboard.press("ArrowRight")
    wait_loaded(page, "chart-traffic", before)
    assert page.evaluate("document.querySelector('input[name=range]:checked').value") == "24h"
    page.screenshot(path=str(SHOTS / "service-keyboard.png"))
    # Every link and control on the page has a name a screen reader can say.
    unnamed = page.evaluate(
        """() => Array.from(document.querySelectorAll('a, button, input, select')).filter(e => {
             const label = e.labels && e.labels.length ? e.labels[0].textContent : '';
             return !(e.textContent.trim() || e.getAttribute('aria-label') || label.trim() || e.type === 'hidden');
           }).map(e => e.outerHTML)"""
    )
    assert unnamed == []
    assert errors == []
    context.close()
