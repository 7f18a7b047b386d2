"""The SSRF guard (portal/netguard.py) shared by webhooks and scrape targets."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ValidationError

from notifications.models import WebhookEndpoint
from portal import netguard


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # AWS/GCP/Azure metadata
        "http://169.254.170.2/v2/credentials",  # ECS task credentials
        "http://[fd00:ec2::254]/latest/meta-data/",  # AWS IPv6 metadata
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped IPv6
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://100.100.100.200/latest/meta-data/",  # Alibaba metadata
        "http://[fe80::1]/",
        "http://0.0.0.0:8080/",
        "http://224.0.0.1/",
    ],
)
def test_metadata_link_local_and_odd_ranges_are_refused_even_when_private_is_allowed(url):
    with pytest.raises(netguard.UnsafeUrl, match="refused"):
        netguard.check_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/", "http://10.1.2.3/", "http://192.168.0.10/", "http://[::1]/", "http://100.64.0.1/"]
)
def test_loopback_and_private_need_the_setting(url, settings):
    settings.SCRAPE_ALLOW_PRIVATE = False
    with pytest.raises(netguard.UnsafeUrl, match="SCRAPE_ALLOW_PRIVATE"):
        netguard.check_url(url)
    settings.SCRAPE_ALLOW_PRIVATE = True
    netguard.check_url(url)  # no exception


def test_a_host_name_resolving_to_loopback_is_refused_without_the_setting(settings):
    assert ipaddress.ip_address("127.0.0.1") in netguard.resolve("localhost", 80, allow_private=True)
    settings.SCRAPE_ALLOW_PRIVATE = False
    with pytest.raises(netguard.UnsafeUrl, match=r"localhost refused: .*loopback/private"):
        netguard.check_url("http://localhost:8080/hook")


def test_public_addresses_pass():
    netguard.check_url("https://93.184.216.34/hook", allow_private=False)
    netguard.check_url("https://[2606:2800:220:1:248:1893:25c8:1946]/", allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http"),
        ("gopher://example.com/", "only http"),
        ("http:///nohost", "no host"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_malformed_urls_say_why(url, reason):
    with pytest.raises(netguard.UnsafeUrl, match=reason):
        netguard.check_url(url, allow_private=True)


def test_an_unresolvable_name_is_saved_but_refused_at_connect_time():
    netguard.check_url("https://beacon-test.invalid/hook", allow_private=False)
    with pytest.raises(netguard.UnsafeUrl, match="cannot resolve"):
        netguard.request("POST", "https://beacon-test.invalid/hook", body=b"{}", allow_private=False)


def test_connect_time_check_refuses_before_any_byte_is_sent(receiver):
    with pytest.raises(netguard.UnsafeUrl, match=r"127\.0\.0\.1 refused"):
        netguard.request("POST", receiver.url, body=b"{}", allow_private=False)
    assert receiver.requests == []


def test_request_connects_to_the_checked_address_and_keeps_the_host_name(receiver):
    port = receiver.url.split(":")[2].split("/")[0]
    response = netguard.request("POST", f"http://localhost:{port}/x?y=1", body=b"{}", allow_private=True)
    assert response.status == 200
    assert response.body == b"ok"
    assert receiver.requests[0].headers["host"] == f"localhost:{port}"
    assert receiver.requests[0].path == "/x?y=1"


def test_response_body_is_capped(receiver):
    response = netguard.request("POST", receiver.url, body=b"{}", max_response_bytes=1)
    assert (response.body, response.truncated) == (b"o", True)


def test_endpoint_validation_uses_the_guard(org, settings):
    settings.SCRAPE_ALLOW_PRIVATE = True
    endpoint = WebhookEndpoint(organization=org, url="http://169.254.169.254/latest/")
    with pytest.raises(ValidationError) as excinfo:
        endpoint.full_clean()
    assert "link-local/metadata" in str(excinfo.value.message_dict["url"])
