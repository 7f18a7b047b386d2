"""Template context for every page: the signed-in person's organizations (the header's switcher), and
whether they administer the one in the URL (the header's Settings link)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import Membership
from accounts.tenancy import member_organizations


def _admin_of(user: Any, slug: str | None) -> bool:
    """Whether the header shows "Settings": staff, or an `admin` member of the org in the URL."""
    if not slug:
        return False
    if user.is_staff:
        return True
    return Membership.objects.filter(user_id=user.pk, organization__slug=slug, role=Membership.Role.ADMIN).exists()


def organizations(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    current = match.kwargs.get("org") if match is not None else None
    # Lazy: evaluated only by pages that draw the header, once.
    return {
        "my_organizations": member_organizations(user),
        "current_org_slug": current,
        "current_org_admin": SimpleLazyObject(lambda: _admin_of(user, current)),
    }
