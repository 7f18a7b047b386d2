"""Settings pages of accounts under /o/<org>/settings/ (keys, members, audit log) and the invitation page.

`settings_page` is what every app's settings view is wrapped in (devices, notifications and ingest use it too):
sign-in required, the organization from the URL for its admins only (viewers 403, non-members 404, the
rule of accounts.tenancy.page_organization_admin), and `no-store` on the answer, since settings pages show
secrets once. CSRF is Django's middleware: every form posts its token.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from accounts.audit import Actor
from accounts.models import Organization
from accounts.tenancy import page_organization_admin

SettingsView = Callable[..., HttpResponse]
Owned = TypeVar("Owned", bound=Model)


def settings_page(view: SettingsView) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, org: str, **kwargs: Any) -> HttpResponse:
        organization = page_organization_admin(request.user, org)
        response = view(request, organization, **kwargs)
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private"
        return response

    return wrapped


def actor(request: HttpRequest) -> Actor:
    return Actor(user=request.user)


def settings_context(organization: Organization, section: str, **extra: Any) -> dict[str, Any]:
    """What templates/settings/base.html needs: the org and which tab is open."""
    return {"organization": organization, "section": section, **extra}


def owned_or_404(objects: QuerySet[Owned], organization: Organization, what: str, **lookup: Any) -> Owned:
    """The one object of `organization` matching `lookup` (the tenant filter lives here, so no view forgets it);
    404 "No such <what> in this organization." for an unknown one and for another organization's alike."""
    found = objects.filter(organization=organization, **lookup).first()
    if found is None:
        raise Http404(f"No such {what} in this organization.")
    return found
