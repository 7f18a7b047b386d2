"""Template context for every page: the signed-in person's organizations (the header's switcher)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.tenancy import member_organizations


def organizations(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    current = match.kwargs.get("org") if match is not None else None
    # Lazy: evaluated only by pages that draw the header, once.
    return {"my_organizations": member_organizations(user), "current_org_slug": current}
