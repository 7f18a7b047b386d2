"""The settings pages in a real browser (Playwright driving Debian's chromium against a live server): an org
admin issues a key (shown once, copied, then writing for real), and invites a member who accepts by the
emailed link. Screenshots go to var/screenshots/settings-*.png (look at them)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User

from accounts import services as accounts
from accounts.models import ApiKey, Membership
from devices import services as devices
from tests.notify_servers import SmtpSink
from tests.pages.conftest import SHOTS, browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(180)
PLAINTEXT = re.compile(r"bcn_[0-9a-f]{16}_[A-Za-z0-9_\-]+")


def test_admin_issues_a_key_and_invites_a_member(
    transactional_db: None,
    live_server: Any,
    browser: Any,  # noqa: F811
    smtp_server: SmtpSink,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.RATELIMIT_ENABLE = False
    base = live_server.url
    settings.PUBLIC_URL = base
    org = accounts.organization_create(name="Acme Settings")
    admin = User.objects.create_user(username="alice", password="alice-pw-123", email="alice@example.com")
    accounts.membership_grant(user=admin, organization=org, role=Membership.Role.ADMIN)
    devices.device_create(organization=org, name="pi-17")
    SHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pw-123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/o/{org.slug}/")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.wait_for_url(f"{base}/o/{org.slug}/settings/")
    page.screenshot(path=str(SHOTS / "settings-index.png"), full_page=True)

    page.get_by_role("link", name="API keys").first.click()
    page.wait_for_url(f"{base}/o/{org.slug}/settings/keys/")
    assert page.get_by_text("No keys yet.").is_visible()
    page.get_by_label("Name").fill("agent on pi-17")
    page.get_by_label("Write metrics").check()
    page.get_by_label("Device").select_option(label="pi-17")
    page.screenshot(path=str(SHOTS / "settings-keys-form.png"), full_page=True)
    page.get_by_role("button", name="Issue key").click()
    page.wait_for_selector("#plaintext")
    plaintext = page.locator("#plaintext").text_content().strip()
    assert PLAINTEXT.fullmatch(plaintext)
    command = page.locator("#install-command").text_content()
    assert command == f"sudo ./install.sh --url {base} --key {plaintext}"
    page.get_by_role("button", name="Copy key").click()
    page.wait_for_function("document.querySelector('[data-copy=\"#plaintext\"]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == plaintext
    page.screenshot(path=str(SHOTS / "settings-key-issued.png"), full_page=True)

    # The key from the page writes for real; the list never shows it again, a reload included.
    response = requests.post(
        f"{base}/api/v2/write", data="cpu usage_user=12.5", headers={"Authorization": f"Bearer {plaintext}"}, timeout=10
    )
    assert response.status_code == 204, response.text
    page.get_by_role("link", name="Back to API keys").click()
    page.wait_for_url(f"{base}/o/{org.slug}/settings/keys/")
    page.reload()
    assert plaintext not in page.content()
    key = ApiKey.objects.get(name="agent on pi-17")
    row = page.locator(f'tr[data-key="{key.prefix}"]')
    assert row.locator(".status").text_content().strip() == "active"
    assert row.locator(".last-used").text_content().strip() != "never"
    page.screenshot(path=str(SHOTS / "settings-keys-list.png"), full_page=True)

    # Invite a member; they accept through the emailed link in another browser.
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_role("button", name="Send invitation").click()
    page.wait_for_selector("text=Invitation sent to")
    page.screenshot(path=str(SHOTS / "settings-members.png"), full_page=True)
    link = re.search(r"(http://\S+/accounts/invite/\S+/)", smtp_server.messages[-1].message.get_content())
    assert link is not None
    guest = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    guest.goto(link.group(1))
    guest.get_by_label("Username").fill("bob")
    guest.get_by_label("Password", exact=True).fill("Bobs-long-pass-9")
    guest.get_by_label("Password confirmation").fill("Bobs-long-pass-9")
    guest.screenshot(path=str(SHOTS / "settings-invite-accept.png"), full_page=True)
    guest.get_by_role("button", name="Create account and join").click()
    guest.wait_for_url(f"{base}/o/{org.slug}/")
    assert Membership.objects.get(user__username="bob", organization=org).role == "viewer"
    assert guest.get_by_role("link", name="Settings", exact=True).count() == 0  # a viewer
    assert guest.goto(f"{base}/o/{org.slug}/settings/keys/").status == 403  # type: ignore[union-attr]
    assert guest.get_by_role("heading", name="Not allowed").is_visible()
    assert guest.get_by_text("Only an admin of this organization can change its settings.").is_visible()
    guest.screenshot(path=str(SHOTS / "settings-viewer-403.png"), full_page=True)

    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url(f"{base}/o/{org.slug}/settings/audit/")
    actions = page.eval_on_selector_all("tr[data-action]", "rows => rows.map(r => r.dataset.action)")
    assert actions == ["invitation.accept", "invitation.create", "api_key.issue"]
    page.screenshot(path=str(SHOTS / "settings-audit.png"), full_page=True)
    assert errors == []
    context.close()
