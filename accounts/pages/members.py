"""Members of an organization, for its admins: invite by email, change role, remove (never the last admin)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import services
from accounts.models import Invitation, Membership, Organization
from accounts.pages import actor, owned_or_404, settings_context, settings_page


class InviteForm(forms.Form):
    email = forms.EmailField(help_text="We email a link that works once and expires.")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


def _page(request: HttpRequest, organization: Organization, form: InviteForm, **extra: Any) -> HttpResponse:
    members = Membership.objects.filter(organization=organization).select_related("user").order_by("user__username")
    pending = Invitation.objects.filter(organization=organization, accepted_at__isnull=True).order_by("-created_at")
    context = settings_context(
        organization,
        "members",
        form=form,
        members=list(members),
        pending=list(pending[:50]),
        roles=Membership.Role.choices,
        **extra,
    )
    status = 400 if form.errors or extra.get("error") else 200
    return render(request, "accounts/settings/members.html", context, status=status)


@settings_page
def members_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    if request.method != "POST":
        return _page(request, organization, InviteForm())
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, organization, form)
    try:
        invitation = services.invitation_create(
            organization=organization,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=actor(request),
        )
    except ValueError as exc:
        form.add_error("email", str(exc))
        return _page(request, organization, form)
    return _page(request, organization, InviteForm(), invited=invitation.email)


def _membership(organization: Organization, member: int) -> Membership:
    return owned_or_404(Membership.objects.select_related("user", "organization"), organization, "member", pk=member)


@require_POST
@settings_page
def member_role(request: HttpRequest, organization: Organization, member: int) -> HttpResponse:
    membership = _membership(organization, member)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _page(request, organization, InviteForm(), error=f"role: {form.errors['role'][0]}")
    try:
        services.membership_change_role(membership=membership, role=form.cleaned_data["role"], actor=actor(request))
    except ValueError as exc:
        return _page(request, organization, InviteForm(), error=str(exc))
    return redirect("settings-members", org=organization.slug)


@require_POST
@settings_page
def member_remove(request: HttpRequest, organization: Organization, member: int) -> HttpResponse:
    membership = _membership(organization, member)
    try:
        services.membership_remove(membership=membership, actor=actor(request))
    except ValueError as exc:
        return _page(request, organization, InviteForm(), error=str(exc))
    if membership.user_id == request.user.pk:
        return redirect("home")  # removed themselves: this organization's pages are no longer theirs
    return redirect("settings-members", org=organization.slug)
