"""The gauges page under /o/<org>/gauges/: every live gauge with its value and last update, filter by name."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.tenancy import page_organization
from registry.selectors import gauge_list, group_list

PAGE_SIZE = 100


@login_required
def gauges_page(request: HttpRequest, org: str) -> HttpResponse:
    organization = page_organization(request.user, org)
    name = request.GET.get("name", "").strip()[:200]
    page = Paginator(gauge_list(organization=organization, name=name), PAGE_SIZE).get_page(request.GET.get("page"))
    groups = group_list(organization=organization)
    context = {
        "organization": organization,
        "name": name,
        "page": page,
        "group_count": groups.count(),
        "groups": list(groups[:20]),
    }
    return render(request, "registry/gauges.html", context)
