"""The Django admin: issuing shows the key exactly once; revoke/rotate actions; device state column."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import keys
from accounts import services as accounts
from accounts.models import ApiKey
from devices import services

KEY_RE = re.compile(r"bcn_[0-9a-f]{16}_[A-Za-z0-9_\-]{20,128}")
ADD_URL = "/admin/accounts/apikey/add/"
LIST_URL = "/admin/accounts/apikey/"


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-not-used")
    client.force_login(user)
    return client


def _log_tail(since: int) -> str:
    path = Path(settings.LOG_DIR) / "portal.log"
    if not path.exists():
        return ""
    with path.open("rb") as fh:
        fh.seek(since)
        return fh.read().decode()


def _log_size() -> int:
    path = Path(settings.LOG_DIR) / "portal.log"
    return path.stat().st_size if path.exists() else 0


def _issue_form(org, **overrides):
    data = {"organization": org.pk, "name": "telegraf", "device": "", "scopes": ["metrics:write", "metrics:read"]}
    data["issue_token"] = secrets.token_urlsafe(16)
    data.update({"expires_at_0": "", "expires_at_1": "", "rate_limit": ""})
    data.update(overrides)
    return data


def test_add_form_shows_issue_fields(admin_client, org):
    page = admin_client.get(ADD_URL).content.decode()
    assert 'type="checkbox" name="scopes" value="metrics:write"' in page
    assert "shows it ONCE on the next page" in page


def test_admin_issue_shows_plaintext_exactly_once(admin_client, org, device, caplog):
    log_start = _log_size()
    caplog.set_level(logging.DEBUG)

    response = admin_client.post(ADD_URL, _issue_form(org, device=device.pk, rate_limit="120/m"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    found = KEY_RE.findall(page)
    assert len(set(found)) == 1
    plaintext = found[0]
    parsed = keys.parse(plaintext)
    assert parsed is not None

    row = ApiKey.objects.get()
    assert (row.key_id, row.name, row.device, row.rate_limit) == (parsed.key_id, "telegraf", device, "120/m")
    assert row.scopes == ["metrics:read", "metrics:write"]
    assert row.digest == keys.digest(parsed.secret)
    assert accounts.api_key_authenticate(plaintext) == row

    # Never again: list, change page, history, LogEntry, session, logs.
    for url in (LIST_URL, f"{LIST_URL}{row.pk}/change/", f"{LIST_URL}{row.pk}/history/"):
        later = admin_client.get(url)
        assert later.status_code == 200
        assert parsed.secret not in later.content.decode()
        assert f"bcn_{row.key_id}_" in later.content.decode()
    entry = LogEntry.objects.get(object_id=str(row.pk))
    assert parsed.secret not in entry.change_message + entry.object_repr
    for session in Session.objects.all():
        assert parsed.secret not in str(session.get_decoded())
    assert parsed.secret not in caplog.text
    assert parsed.secret not in _log_tail(log_start)


def test_admin_issue_rejects_device_of_another_org(admin_client, org, other_org):
    foreign = services.device_create(organization=other_org, name="foreign")

    response = admin_client.post(ADD_URL, _issue_form(org, device=foreign.pk))

    assert response.status_code == 200
    assert "belongs to &#x27;Globex&#x27;, not to &#x27;Acme Edge&#x27;" in response.content.decode()
    assert not KEY_RE.search(response.content.decode())
    assert ApiKey.objects.count() == 0


def test_admin_issue_rejects_bad_rate_and_no_scopes(admin_client, org):
    response = admin_client.post(ADD_URL, _issue_form(org, rate_limit="lots", scopes=[]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Invalid rate limit" in page
    assert "This field is required." in page
    assert ApiKey.objects.count() == 0


def test_revoke_action(admin_client, org):
    a = accounts.api_key_issue(organization=org, name="a", scopes=["metrics:read"])
    b = accounts.api_key_issue(organization=org, name="b", scopes=["metrics:read"])
    keep = accounts.api_key_issue(organization=org, name="keep", scopes=["metrics:read"])

    response = admin_client.post(
        LIST_URL, {"action": "revoke_selected", "_selected_action": [a.api_key.pk, b.api_key.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "Revoked 2 key(s)." in response.content.decode()
    assert accounts.api_key_authenticate(a.plaintext) is None
    assert accounts.api_key_authenticate(b.plaintext) is None
    assert accounts.api_key_authenticate(keep.plaintext) == keep.api_key


def test_rotate_action_shows_each_new_key_once(admin_client, org):
    old = [accounts.api_key_issue(organization=org, name=f"k{i}", scopes=["metrics:write"]) for i in range(2)]

    response = admin_client.post(
        LIST_URL, {"action": "rotate_selected", "_selected_action": [o.api_key.pk for o in old]}
    )

    assert response.status_code == 200
    page = response.content.decode()
    shown = set(KEY_RE.findall(page))
    assert len(shown) == 2
    for plaintext in shown:
        new = accounts.api_key_authenticate(plaintext)
        assert new is not None and new.rotated_from_id in {o.api_key.pk for o in old}
    for o in old:  # still valid during the grace period, but now with a deadline
        assert accounts.api_key_authenticate(o.plaintext) == o.api_key
        expires = ApiKey.objects.get(pk=o.api_key.pk).expires_at
        assert expires is not None
        assert abs(expires - timezone.now() - timedelta(hours=settings.API_KEY_ROTATION_GRACE_HOURS)) < timedelta(
            minutes=1
        )
    listing = admin_client.get(LIST_URL).content.decode()
    assert not KEY_RE.search(listing)


def test_key_search_by_prefix_and_status_filter(admin_client, org):
    active = accounts.api_key_issue(organization=org, name="alpha", scopes=["metrics:read"])
    gone = accounts.api_key_issue(organization=org, name="beta", scopes=["metrics:read"])
    accounts.api_key_revoke(api_key=gone.api_key)

    by_prefix = admin_client.get(LIST_URL, {"q": f"bcn_{active.api_key.key_id}_…"}, follow=True).content.decode()
    assert "alpha" in by_prefix and "beta" not in by_prefix
    revoked = admin_client.get(LIST_URL, {"status": "revoked"}).content.decode()
    assert "beta" in revoked and "alpha" not in revoked


def test_pasting_a_whole_key_redirects_to_the_key_id_search(admin_client, org):
    wanted = accounts.api_key_issue(organization=org, name="alpha", scopes=["metrics:read"])
    accounts.api_key_issue(organization=org, name="beta", scopes=["metrics:read"])
    parsed = keys.parse(wanted.plaintext)
    assert parsed is not None
    log_start = _log_size()

    response = admin_client.get(LIST_URL, {"q": f" {wanted.plaintext} ", "status": "active"})

    assert response.status_code == 302
    assert parsed.secret not in response["Location"]
    page = admin_client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert page.context["cl"].query == parsed.key_id
    assert [k.name for k in page.context["cl"].result_list] == ["alpha"]
    assert f'value="{parsed.key_id}"' in body  # the search box shows only the id
    assert parsed.secret not in body
    assert parsed.secret not in _log_tail(log_start)


def test_device_list_state_column_filter_and_sort(admin_client, org):
    now = timezone.now()
    for name, age in [("dev-live", timedelta(seconds=10)), ("dev-offline", timedelta(hours=2)), ("dev-new", None)]:
        d = services.device_create(organization=org, name=name)
        d.last_seen_at = now - age if age else None
        d.save()

    live_only = admin_client.get("/admin/devices/device/", {"state": "live"}).content.decode()
    assert "dev-live" in live_only and "dev-offline" not in live_only and "dev-new" not in live_only

    # The state column sorts by freshness (list_display index 3 = state): live, offline, unseen.
    page = admin_client.get("/admin/devices/device/", {"o": "3"}).content.decode()
    assert page.index("dev-live") < page.index("dev-offline") < page.index("dev-new")
    assert '<td class="field-state">offline</td>' in page


def test_organization_list_counts(admin_client, org, device, other_org):
    accounts.api_key_issue(organization=org, name="k", scopes=["metrics:read"])
    page = admin_client.get("/admin/accounts/organization/").content.decode()
    assert '<td class="field-device_count">1</td>' in page
    assert '<td class="field-active_key_count">1</td>' in page
    assert admin_client.get(f"/admin/accounts/organization/{org.pk}/change/").status_code == 200


def test_add_form_narrows_devices_to_org_from_url(admin_client, org, other_org, device):
    services.device_create(organization=other_org, name="foreign-box")
    page = admin_client.get(ADD_URL, {"organization": org.pk}).content.decode()
    assert "edge-01 (Acme Edge)" in page
    assert "foreign-box" not in page


def test_device_search_by_tag_and_key_change_form(admin_client, org, device):
    services.device_create(organization=org, name="edge-untagged")
    found = admin_client.get("/admin/devices/device/", {"q": "lab"}).content.decode()
    assert "edge-01" in found and "edge-untagged" not in found

    issued = accounts.api_key_issue(organization=org, name="ops", scopes=["metrics:read"])
    url = f"{LIST_URL}{issued.api_key.pk}/change/"
    response = admin_client.post(
        url,
        {
            "name": "ops renamed",
            "scopes": ["metrics:read", "metrics:write"],
            "expires_at_0": "",
            "expires_at_1": "",
            "rate_limit": "5/s",
        },
    )
    assert response.status_code == 302
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert (row.name, row.scopes, row.rate_limit) == ("ops renamed", ["metrics:read", "metrics:write"], "5/s")
    assert row.digest == issued.api_key.digest and row.key_id == issued.api_key.key_id
    assert accounts.api_key_authenticate(issued.plaintext) == row


def test_only_registered_scopes_are_offered_and_accepted(admin_client, org):
    # imaginary:read belongs to no installed app: not offered, and refused if posted.
    page = admin_client.get(ADD_URL).content.decode()
    assert 'value="metrics:write"' in page and 'value="metrics:read"' in page
    assert "imaginary:read" not in page and "loadtests:write" in page  # loadtests registers its scope
    issued = accounts.api_key_issue(organization=org, name="ops", scopes=["metrics:read"])
    response = admin_client.post(
        f"{LIST_URL}{issued.api_key.pk}/change/",
        {"name": "ops", "scopes": ["metrics:read", "imaginary:read"], "expires_at_0": "", "expires_at_1": ""},
    )
    assert (
        response.status_code == 200
        and "imaginary:read is not one of the available choices" in response.content.decode()
    )
    assert ApiKey.objects.get(pk=issued.api_key.pk).scopes == ["metrics:read"]


def test_reposting_the_issue_form_does_not_issue_a_second_key(admin_client, org):
    page = admin_client.get(ADD_URL).content.decode()
    token = re.search(r'name="issue_token" value="([^"]+)"', page)
    assert token is not None, "the add form carries a one-time token"
    form = _issue_form(org, issue_token=token.group(1))

    first = admin_client.post(ADD_URL, form)
    again = admin_client.post(ADD_URL, form)  # what a reload of the "key issued" page sends

    assert first.status_code == 200 and len(KEY_RE.findall(first.content.decode())) == 1
    body = again.content.decode()
    assert again.status_code == 200
    assert "already submitted" in body
    assert KEY_RE.search(body) is None
    assert ApiKey.objects.filter(organization=org).count() == 1
