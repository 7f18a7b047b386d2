"""Webhook endpoints of an organization under Settings, for its admins: see them (and why one is disabled),
rotate the signing secret (shown once), re-enable one disabled by a 410, send a test event."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Organization
from accounts.pages import actor, owned_or_404, settings_context, settings_page
from notifications import services
from notifications.models import Delivery, WebhookEndpoint


def _page(request: HttpRequest, organization: Organization, **extra: object) -> HttpResponse:
    endpoints = list(WebhookEndpoint.objects.filter(organization=organization).order_by("url"))
    # An org has a handful of endpoints: one small query each for its latest delivery.
    rows = [
        {"endpoint": e, "latest": Delivery.objects.filter(endpoint=e).order_by("-created_at", "-id").first()}
        for e in endpoints
    ]
    context = settings_context(organization, "webhooks", rows=rows, **extra)
    return render(request, "notifications/settings/webhooks.html", context)


@settings_page
def webhooks_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _page(request, organization)


def _endpoint(organization: Organization, endpoint: int) -> WebhookEndpoint:
    return owned_or_404(WebhookEndpoint.objects.all(), organization, "webhook endpoint", pk=endpoint)


@require_POST
@settings_page
def endpoint_rotate(request: HttpRequest, organization: Organization, endpoint: int) -> HttpResponse:
    found = _endpoint(organization, endpoint)
    with transaction.atomic():
        secret = services.webhook_endpoint_rotate_secret(endpoint=found)
        actor(request).record(
            organization=organization,
            action="webhook_endpoint.rotate_secret",
            target=f"webhook endpoint {found.url}",
            before={"secret": "rotated"},
            after={"secret_rotated_at": found.secret_rotated_at.isoformat() if found.secret_rotated_at else None},
        )
    # Rendered into this answer only (no-store, settings_page): the list never shows a secret.
    return _page(request, organization, new_secret=secret, rotated=found)


@require_POST
@settings_page
def endpoint_enable(request: HttpRequest, organization: Organization, endpoint: int) -> HttpResponse:
    found = _endpoint(organization, endpoint)
    if not found.enabled:
        with transaction.atomic():
            before = {"enabled": False, "disabled_reason": found.disabled_reason}
            services.webhook_endpoint_enable(endpoint=found)
            actor(request).record(
                organization=organization,
                action="webhook_endpoint.enable",
                target=f"webhook endpoint {found.url}",
                before=before,
                after={"enabled": True},
            )
    return redirect("settings-webhooks", org=organization.slug)


@require_POST
@settings_page
def endpoint_test(request: HttpRequest, organization: Organization, endpoint: int) -> HttpResponse:
    found = _endpoint(organization, endpoint)
    if not found.enabled:
        return _page(request, organization, error=f"{found.url} is disabled: enable it before sending a test event.")
    with transaction.atomic():
        notification = services.notification_send_test(organization=organization, webhook_urls=[found.url])
        actor(request).record(
            organization=organization,
            action="webhook_endpoint.test",
            target=f"webhook endpoint {found.url}",
            after={"notification": notification.pk},
        )
    return _page(request, organization, tested=found)
