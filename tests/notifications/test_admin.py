"""Admin: deliveries and attempts visible, endpoints show why they are disabled, actions need change permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from notifications.models import Delivery, Notification, WebhookEndpoint
from notifications.services import deliveries_run_due
from tests.notifications.helpers import send
from tests.notify_servers import Reply


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-not-used"))
    return client


@pytest.fixture
def viewer_client(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", "v@example.com", "pw-not-used", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_delivery", "view_webhookendpoint", "view_notification"])
    )
    client.force_login(user)
    return client


def _failed_webhook(org, receiver):
    receiver.replies = [Reply(410)]
    send(org, webhook_urls=[receiver.url])
    deliveries_run_due()
    return Delivery.objects.get()


def test_delivery_page_shows_every_attempt(admin_client, org, receiver):
    delivery = _failed_webhook(org, receiver)
    page = admin_client.get(f"/admin/notifications/delivery/{delivery.pk}/change/").content.decode()
    assert delivery.webhook_msg_id in page
    assert "410 Gone" in page  # the attempt row's error
    listing = admin_client.get("/admin/notifications/delivery/").content.decode()
    assert "failed" in listing


def test_endpoint_list_shows_the_disabled_reason(admin_client, org, receiver):
    _failed_webhook(org, receiver)
    page = admin_client.get("/admin/notifications/webhookendpoint/").content.decode()
    assert "the receiver answered 410 Gone at" in page


def test_resend_and_test_actions(admin_client, org, receiver):
    delivery = _failed_webhook(org, receiver)
    endpoint = WebhookEndpoint.objects.get()
    admin_client.post("/admin/notifications/webhookendpoint/", {"action": "enable", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, "")
    response = admin_client.post(
        "/admin/notifications/delivery/", {"action": "resend", "_selected_action": [delivery.pk]}
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    admin_client.post(
        "/admin/notifications/webhookendpoint/", {"action": "send_test", "_selected_action": [endpoint.pk]}
    )
    test_notification = Notification.objects.get(kind="test")
    assert test_notification.event_type == "beacon.test"
    receiver.secret = endpoint.secret
    assert deliveries_run_due() == 2
    assert sorted(h.verified["type"] for h in receiver.requests[1:]) == ["beacon.test", "quota.threshold_crossed"]


def test_actions_need_the_change_permission(viewer_client, org, receiver):
    delivery = _failed_webhook(org, receiver)
    endpoint = WebhookEndpoint.objects.get()
    listing = viewer_client.get("/admin/notifications/delivery/")
    assert listing.status_code == 200
    assert 'value="resend"' not in listing.content.decode()
    for url, action, pk in [
        ("/admin/notifications/delivery/", "resend", delivery.pk),
        ("/admin/notifications/webhookendpoint/", "send_test", endpoint.pk),
        ("/admin/notifications/webhookendpoint/", "rotate_secret", endpoint.pk),
        ("/admin/notifications/webhookendpoint/", "enable", endpoint.pk),
    ]:
        viewer_client.post(url, {"action": action, "_selected_action": [pk]})
    delivery.refresh_from_db()
    endpoint_after = WebhookEndpoint.objects.get()
    assert delivery.status == "failed"
    assert (endpoint_after.enabled, endpoint_after.secret) == (False, endpoint.secret)
    assert not Notification.objects.filter(kind="test").exists()


def test_an_endpoint_added_in_the_admin_is_checked_for_ssrf(admin_client, org):
    response = admin_client.post(
        "/admin/notifications/webhookendpoint/add/",
        {"organization": org.pk, "url": "http://169.254.169.254/latest/", "enabled": "on"},
    )
    assert response.status_code == 200
    assert "link-local/metadata" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()
