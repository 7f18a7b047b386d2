"""The audit log of an organization for its admins: newest first, filtered by action, 50 a page."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import AuditEntry, Organization
from accounts.pages import settings_context, settings_page

PAGE_SIZE = 50


@settings_page
def audit_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    entries = AuditEntry.objects.filter(organization=organization).order_by("-at", "-id")
    actions = sorted(set(entries.values_list("action", flat=True).distinct()))
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action=action)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = settings_context(organization, "audit", page=page, actions=actions, action=action)
    return render(request, "accounts/settings/audit.html", context)
