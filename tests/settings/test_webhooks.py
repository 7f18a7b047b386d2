"""Settings → Webhooks: rotate the secret (shown once; the real receiver verifies the next delivery with it),
re-enable an endpoint a 410 disabled, send a test event, all audited without the secret."""

from __future__ import annotations

import json

import pytest

from accounts.models import AuditEntry, Organization
from notifications.models import Delivery, WebhookEndpoint
from notifications.services import deliveries_run_due, notification_send
from tests.notify_servers import Reply, WebhookReceiver
from tests.settings.conftest import People

pytestmark = pytest.mark.django_db


def _endpoint(org: Organization, receiver: WebhookReceiver, people: People) -> WebhookEndpoint:
    notification_send(
        organization=org,
        kind="quota",
        event_type="quota.threshold",
        dedup_key="first",
        subject="s",
        text="t",
        html="<p>t</p>",
        payload={"n": 1},
        webhook_urls=[receiver.url],
    )
    return WebhookEndpoint.objects.get(organization=org)


def test_rotate_secret_shows_it_once_and_the_receiver_verifies_with_it(
    org: Organization, people: People, receiver: WebhookReceiver
) -> None:
    endpoint = _endpoint(org, receiver, people)
    old = endpoint.secret
    response = people.admin_client.post(f"/o/{org.slug}/settings/webhooks/{endpoint.pk}/rotate/")
    assert response.status_code == 200 and b"Copy the new signing secret now" in response.content
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    assert endpoint.secret.encode() in response.content
    listing = people.admin_client.get(f"/o/{org.slug}/settings/webhooks/").content
    assert endpoint.secret.encode() not in listing and old.encode() not in listing
    assert b"rotated " in listing
    # A test event from the page arrives signed with the new secret (the receiver verifies like a customer would).
    receiver.secret = endpoint.secret
    sent = people.admin_client.post(f"/o/{org.slug}/settings/webhooks/{endpoint.pk}/test/")
    assert sent.status_code == 200 and b"A test event (<code>beacon.test</code>) is on its way" in sent.content
    assert deliveries_run_due() >= 1
    test_hooks = [h for h in receiver.requests if h.verified and h.verified.get("type") == "beacon.test"]
    assert len(test_hooks) == 1 and test_hooks[0].verify_error == ""
    assert test_hooks[0].verified["data"]["organization"] == org.slug
    assert b"Sent (200)" in people.admin_client.get(f"/o/{org.slug}/settings/webhooks/").content
    stored = json.dumps(list(AuditEntry.objects.values("action", "before", "after")))
    assert endpoint.secret not in stored and old not in stored
    assert {"webhook_endpoint.rotate_secret", "webhook_endpoint.test"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


def test_an_endpoint_disabled_by_410_is_enabled_again(
    org: Organization, people: People, receiver: WebhookReceiver
) -> None:
    receiver.replies = [Reply(410)]
    endpoint = _endpoint(org, receiver, people)
    assert deliveries_run_due() == 1
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    page = people.admin_client.get(f"/o/{org.slug}/settings/webhooks/").content
    assert b"disabled" in page and b"410 Gone" in page and b">Enable<" in page
    refused = people.admin_client.post(f"/o/{org.slug}/settings/webhooks/{endpoint.pk}/test/")
    assert b"is disabled: enable it before sending a test event." in refused.content
    assert Delivery.objects.count() == 1  # nothing sent
    assert people.admin_client.post(f"/o/{org.slug}/settings/webhooks/{endpoint.pk}/enable/").status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled is True and endpoint.disabled_reason == ""
    entry = AuditEntry.objects.get(action="webhook_endpoint.enable")
    assert entry.before["enabled"] is False and "410 Gone" in entry.before["disabled_reason"]
    assert entry.after == {"enabled": True}
