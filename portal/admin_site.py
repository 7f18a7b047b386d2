"""The admin site: "View site" is the customer pages' landing page, and a customer is sent there."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from portal.pages.views import admin_elsewhere


class StaffAuthenticationForm(AdminAuthenticationForm):
    """Django's says "enter the correct username and password for a staff account" to a customer who typed
    their right password; this one says where customers sign in instead."""

    def confirm_login_allowed(self, user: Any) -> None:
        if user.is_active and not user.is_staff:
            raise ValidationError(
                "%(username)s is not a staff account: the admin is for Beacon's staff. Your organization's "
                "pages are at / (sign in at /accounts/login/).",
                code="not_staff",
                params={"username": user.get_username()},
            )
        super().confirm_login_allowed(user)


class BeaconAdminSite(admin.AdminSite):
    site_header = "Beacon administration"
    site_title = "Beacon admin"
    site_url = "/"  # "View site": the customer pages' landing page
    login_form = StaffAuthenticationForm

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.user.is_authenticated and not request.user.is_staff:
            # Every admin URL sends a non-staff person here (admin_view); the login form would only
            # invite them to sign in again as someone else.
            return admin_elsewhere(request)
        return super().login(request, extra_context)
