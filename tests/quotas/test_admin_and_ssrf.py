"""Admin (scrape now needs change permission; usage bar; errors shown) and the SSRF guard on targets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from accounts.models import Organization
from quotas.models import GatewayService, Quota, ScrapeTarget, UsagePeriod
from quotas.scraping import scrape_target

LIST = "/admin/quotas/scrapetarget/"


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    def _make(*codenames: str):  # type: ignore[no-untyped-def]
        user = django_user_model.objects.create_user(f"staff-{len(codenames)}", password="x", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        return user

    return _make


@pytest.mark.django_db
def test_scrape_now_needs_change_permission_and_counts(
    client, staff, shop: GatewayService, kong_node: Callable, make_target: Callable
) -> None:  # type: ignore[no-untyped-def]
    node, url = kong_node("2.0")
    target = make_target(url, name="node-a")
    node.add("shop-svc", "r", "egress", 1)
    scrape_target(target.id)
    node.add("shop-svc", "r", "egress", 4_000)

    client.force_login(staff("view_scrapetarget"))
    page = client.get(LIST)
    assert page.status_code == 200 and b"scrape_now" not in page.content
    refused = client.post(LIST, {"action": "scrape_now", "_selected_action": [target.id]})
    assert refused.status_code in (200, 302) and not UsagePeriod.objects.exists()

    client.force_login(staff("view_scrapetarget", "change_scrapetarget"))
    assert b"scrape_now" in client.get(LIST).content
    done = client.post(LIST, {"action": "scrape_now", "_selected_action": [target.id]}, follow=True)
    assert b"Node-a: 1 series, 4000 bytes counted, 0 new (baseline), 0 reset(s)" in done.content
    assert [u.egress_bytes for u in UsagePeriod.objects.all()] == [4_000]


@pytest.mark.django_db
def test_admin_shows_errors_and_the_usage_bar(admin_client, shop: GatewayService, make_target: Callable) -> None:  # type: ignore[no-untyped-def]
    target = make_target("http://127.0.0.1:9/metrics")
    scrape_target(target.id)
    page = admin_client.get(LIST).content.decode()
    assert "error: cannot connect: ConnectionRefusedError" in page
    quota = Quota.objects.create(service=shop, limit_bytes=1_000)
    from django.utils import timezone

    from quotas.periods import quota_period

    start, end = quota_period(quota, timezone.now())
    UsagePeriod.objects.create(service=shop, start=start, end=end, ingress_bytes=300, egress_bytes=550)
    page = admin_client.get("/admin/quotas/quota/").content.decode()
    assert 'title="85.0%"' in page and "width:85.0%" in page and "1.0 KB" in page


@pytest.fixture
def admin_client(client, django_user_model):  # type: ignore[no-untyped-def]
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/metrics",
        "http://[::ffff:169.254.169.254]/metrics",
        "http://[fe80::1]:8001/metrics",
        "http://0.0.0.0:8001/metrics",
        "file:///etc/passwd",
        "http://user:pw@kong:8001/metrics",
    ],
)
def test_metadata_link_local_and_odd_urls_are_refused_at_save(org: Organization, url: str, settings) -> None:  # type: ignore[no-untyped-def]
    target = ScrapeTarget(organization=org, url=url)
    with pytest.raises(ValidationError) as error:
        target.full_clean()
    assert "url" in error.value.message_dict


@pytest.mark.django_db
def test_private_ranges_need_scrape_allow_private(org: Organization, shop: GatewayService, settings, kong_node) -> None:  # type: ignore[no-untyped-def]
    settings.SCRAPE_ALLOW_PRIVATE = False
    for url in ("http://10.0.0.5:8001/metrics", "http://127.0.0.1:8001/metrics", "http://[::1]:8001/metrics"):
        with pytest.raises(ValidationError, match="SCRAPE_ALLOW_PRIVATE"):
            ScrapeTarget(organization=org, url=url).full_clean()
    with pytest.raises(ValidationError, match="webhook_url"):
        Quota(service=shop, limit_bytes=1, webhook_url="http://192.168.1.1/hook").full_clean()
    # Saved while allowed (or before DNS changed): refused again when connecting, nothing fetched.
    _node, url = kong_node()
    target = ScrapeTarget.objects.create(organization=org, url=url.replace("127.0.0.1", "localhost"))
    result = scrape_target(target.id)
    assert not result.ok and result.error.startswith("refused: localhost refused:")
    target.refresh_from_db()
    assert "loopback/private" in target.last_error
    settings.SCRAPE_ALLOW_PRIVATE = True
    linklocal = ScrapeTarget.objects.create(organization=org, url="http://169.254.169.254/metrics")
    assert "link-local/metadata" in scrape_target(linklocal.id).error  # always, even when private is allowed


@pytest.mark.django_db
def test_status_section_names_each_targets_last_scrape(
    org: Organization, other_org: Organization, make_target: Callable
) -> None:
    from quotas.status_section import scrape_status

    failing = make_target("http://127.0.0.1:9/metrics", name="dead node")
    make_target("http://127.0.0.1:9/metrics", organization=other_org)
    scrape_target(failing.id)
    [row] = scrape_status(org)["scrape_targets"]
    assert row["name"] == "dead node" and row["status"] == "error" and row["last_success_at"] is None
    assert row["error"].startswith("cannot connect") and row["last_scrape_at"] is not None


@pytest.mark.django_db
def test_the_auth_header_is_never_shown_and_empty_keeps_it(admin_client, org: Organization) -> None:  # type: ignore[no-untyped-def]
    target = ScrapeTarget.objects.create(
        organization=org, url="http://127.0.0.1:9/metrics", auth_header="Bearer s3cret"
    )
    page = admin_client.get(f"/admin/quotas/scrapetarget/{target.id}/change/").content.decode()
    assert "s3cret" not in page
    form = {
        "organization": org.id,
        "name": "renamed",
        "kind": "exporter",
        "url": target.url,
        "auth_header": "",
        "interval_seconds": 30,
        "enabled": "on",
    }
    assert admin_client.post(f"/admin/quotas/scrapetarget/{target.id}/change/", form).status_code == 302
    target.refresh_from_db()
    assert (target.name, target.auth_header) == ("renamed", "Bearer s3cret")
    bad = admin_client.post(
        f"/admin/quotas/scrapetarget/{target.id}/change/", {**form, "url": "http://169.254.169.254/latest/"}
    )
    assert bad.status_code == 200 and "link-local/metadata" in bad.content.decode()
    admin_client.post(f"/admin/quotas/scrapetarget/{target.id}/change/", {**form, "clear_auth_header": "on"})
    target.refresh_from_db()
    assert target.auth_header == "" and target.url == "http://127.0.0.1:9/metrics"


@pytest.mark.django_db
def test_api_status_has_the_scrape_section(api, org: Organization, make_target: Callable) -> None:  # type: ignore[no-untyped-def]
    target = make_target("http://127.0.0.1:9/metrics", name="node-x")
    scrape_target(target.id)
    body = api.get("/api/v1/status").json()
    assert [(t["name"], t["status"]) for t in body["scrape"]["scrape_targets"]] == [("node-x", "error")]
