"""Pages under /o/<org>/loadtests/: the runs list and a run's page (uPlot charts of rps, latency and users fed
by /api/v1/loadtests/<uuid>, and the final stats table)."""

from __future__ import annotations

import uuid as uuid_module

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.tenancy import page_organization
from loadtests import selectors
from loadtests.models import LoadTestRun
from portal.api.errors import NotFound

PAGE_SIZE = 50


@login_required
def run_list_page(request: HttpRequest, org: str) -> HttpResponse:
    organization = page_organization(request.user, org)
    state = request.GET.get("state") or None
    if state not in (None, *LoadTestRun.State.values):
        state = None
    plan = (request.GET.get("plan") or "")[:100] or None
    runs = selectors.run_list(organization=organization, state=state, plan=plan)
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    plans = (
        LoadTestRun.objects.filter(organization=organization).order_by("plan").values_list("plan", flat=True).distinct()
    )
    context = {
        "organization": organization,
        "page": page,
        "state": state or "",
        "plan": plan or "",
        "plans": list(plans),
        "states": LoadTestRun.State.values,
    }
    return render(request, "loadtests/list.html", context)


@login_required
def run_page(request: HttpRequest, org: str, run: uuid_module.UUID) -> HttpResponse:
    organization = page_organization(request.user, org)
    try:
        found = selectors.run_get(organization=organization, uuid=run)
    except NotFound:
        raise Http404("No such load-test run in this organization.") from None
    baseline = selectors.run_baseline(organization=organization, plan=found.plan)
    context = {
        "organization": organization,
        "run": found,
        "baseline": baseline if baseline and baseline.pk != found.pk else None,
        "page_config": {
            "org": organization.slug,
            "run": str(found.uuid),
            "running": found.state == LoadTestRun.State.RUNNING,
            "refresh_seconds": settings.PAGES_REFRESH_SECONDS,
        },
    }
    return render(request, "loadtests/run.html", context)
