"""Sign-in for members (Django's login view) and password reset by email (Django's views, Beacon's templates)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import LoginView, PasswordResetView
from django.http import HttpResponse


class BeaconLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class BeaconPasswordResetView(PasswordResetView):
    """Django's reset-by-email; the emailed link is built from PUBLIC_URL (read per request: tests change it)."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        self.extra_email_context = {"public_url": settings.PUBLIC_URL.rstrip("/")}
        return super().form_valid(form)
