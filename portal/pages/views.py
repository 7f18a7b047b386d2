"""The landing page, the organization chooser, the overview, and what a non-staff person sees at /admin/."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.models import ApiKey, AuditEntry, Membership, Organization
from accounts.pages import settings_context, settings_page
from accounts.tenancy import member_organizations, page_organization
from devices.models import Device
from notifications.models import WebhookEndpoint
from portal.pages.sections import overview_sections

STAFF_CHOOSER_LIMIT = 100


def home(request: HttpRequest) -> HttpResponse:
    """Signed out: what Beacon is and a sign-in link. A member of one org: its overview. Several: a chooser."""
    if not request.user.is_authenticated:
        return render(request, "pages/landing.html")
    mine = list(member_organizations(request.user))
    if len(mine) == 1 and not request.user.is_staff:
        return redirect("org-overview", org=mine[0].slug)
    others: list[Organization] = []
    if request.user.is_staff:
        # Staff may open any organization (design decision 2); list the others after their own.
        others = list(Organization.objects.exclude(id__in=[o.id for o in mine]).order_by("name")[:STAFF_CHOOSER_LIMIT])
    return render(request, "pages/choose_org.html", {"mine": mine, "others": others})


@login_required
def overview(request: HttpRequest, org: str) -> HttpResponse:
    organization = page_organization(request.user, org)
    context = {"organization": organization, "sections": overview_sections(request, organization)}
    return render(request, "pages/overview.html", context)


@settings_page
def settings_index(request: HttpRequest, organization: Organization) -> HttpResponse:
    """The settings hub: each section with its counts, and the latest changes (org admins only)."""
    latest = AuditEntry.objects.filter(organization=organization).order_by("-at", "-id")[:5]
    now = timezone.now()
    active_keys = ApiKey.objects.filter(organization=organization, revoked_at__isnull=True).exclude(expires_at__lte=now)
    devices = Device.objects.filter(organization=organization)
    endpoints = WebhookEndpoint.objects.filter(organization=organization)
    summary = {
        "keys": active_keys.count(),
        "members": Membership.objects.filter(organization=organization).count(),
        "admins": Membership.objects.filter(organization=organization, role=Membership.Role.ADMIN).count(),
        "devices": devices.count(),
        "decommissioned": devices.filter(decommissioned_at__isnull=False).count(),
        "webhooks": endpoints.count(),
        "webhooks_disabled": endpoints.filter(enabled=False).count(),
    }
    context = settings_context(organization, "", summary=summary, latest=latest)
    return render(request, "pages/settings.html", context)


def admin_elsewhere(request: HttpRequest) -> HttpResponse:
    """A signed-in person without staff access asked for the admin: say where their pages are (403)."""
    context = {"mine": list(member_organizations(request.user))}
    return render(request, "pages/admin_elsewhere.html", context, status=403)
