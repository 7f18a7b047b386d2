"""Which organization an API call acts for: the one place every view asks (design decision 2).

- API key: the key's organization (a `?org=` parameter is ignored, as InfluxDB clients send their own).
- Member session: `?org=<slug>` if the user is a member of it (or staff); without it, the user's only
  organization. Not a member, unknown slug, or no organization at all → 404, so existence never leaks.
- Pages under /o/<slug>/: `page_organization(user, slug)`, the same rule as Django's Http404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import exceptions
from rest_framework.request import Request

from accounts.authentication import MemberGrant
from accounts.models import ApiKey, Membership, Organization
from portal.api.errors import InvalidRequest, NotFound
from portal.logging import org_var


def request_organization(request: Request) -> Organization:
    auth = request.auth
    if isinstance(auth, ApiKey):
        return auth.organization
    if isinstance(auth, MemberGrant):
        organization = _member_organization(request)
        org_var.set(organization.slug)
        return organization
    raise exceptions.NotAuthenticated()


def _member_organization(request: Request) -> Organization:
    user_id = int(str(request.user.pk))
    is_staff = bool(getattr(request.user, "is_staff", False))
    slug = request.query_params.get("org", "").strip()
    if slug:
        organizations = Organization.objects.filter(slug=slug)
        if not is_staff:
            organizations = organizations.filter(memberships__user_id=user_id)
        organization = organizations.first()
        if organization is None:
            raise NotFound(f"organization {slug!r} not found among yours")
        return organization
    mine = list(Organization.objects.filter(memberships__user_id=user_id).order_by("slug")[:2])
    if not mine:
        raise NotFound("you are not a member of any organization")
    if len(mine) > 1:
        raise InvalidRequest("you are a member of several organizations; name one with ?org=<slug>")
    return mine[0]


def request_device_id(request: Request) -> int | None:
    """The device a device-bound key acts for (it sees only that one), or None (org-wide key, member)."""
    auth = request.auth
    return auth.device_id if isinstance(auth, ApiKey) else None


def member_organizations(user: Any) -> QuerySet[Organization]:
    """The organizations a signed-in person belongs to, by name (staff: only their own memberships)."""
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user_id=user.pk).order_by("name")


def page_organization(user: Any, slug: str) -> Organization:
    """The organization of a page under /o/<slug>/: a member's (or, for staff, any). Otherwise Http404,
    the same answer as an unknown slug, so another org's URL never confirms that it exists."""
    organizations = Organization.objects.filter(slug=slug)
    if not getattr(user, "is_staff", False):
        organizations = organizations.filter(memberships__user_id=user.pk)
    organization = organizations.first()
    if organization is None:
        raise Http404("No such organization among yours.")
    return organization


def is_org_admin(user: Any, organization: Organization) -> bool:
    """May `user` change `organization`'s settings from the pages: its `admin` role, or staff."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_staff", False):
        return True
    return Membership.objects.filter(user_id=user.pk, organization=organization, role=Membership.Role.ADMIN).exists()


def page_organization_admin(user: Any, slug: str) -> Organization:
    """`page_organization`, for settings pages: a viewer gets 403 (they know the org exists; they may not
    change it); a non-member the same 404 as an unknown slug."""
    organization = page_organization(user, slug)
    if not is_org_admin(user, organization):
        raise PermissionDenied("Only an admin of this organization can change its settings.")
    return organization
