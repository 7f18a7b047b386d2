"""Sign-in for members: Django's login view with a plain template (the customer pages style it later)."""

from __future__ import annotations

from django.contrib.auth.views import LoginView


class BeaconLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
