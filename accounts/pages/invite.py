"""The page an invitation email links to: /accounts/invite/<invitation>/<token>/.

Signed in: one button joins the organization as that user. Signed out: create an account for the invited
address (then signed in), or, when an account already has that address, sign in first and come back.
An unknown, tampered, expired or used link is a 404 that says so, and changes nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers

from accounts import services


class AccountForm(UserCreationForm):  # type: ignore[type-arg]
    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined,misc]
        model = get_user_model()
        fields = ("username",)


def invitation_page(request: HttpRequest, invitation: int, token: str) -> HttpResponse:
    found = services.invitation_for_token(invitation_id=invitation, token=token)
    if found is None:
        return render(request, "accounts/invite_invalid.html", status=404)
    User = get_user_model()
    has_account = User.objects.filter(email__iexact=found.email).exists()
    form: AccountForm | None = None
    error = ""
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                services.invitation_accept(invitation=found, token=token, user=request.user)
                return redirect("org-overview", org=found.organization.slug)
            if not has_account:
                form = AccountForm(request.POST)
                if form.is_valid():
                    with transaction.atomic():  # no account without the membership it was made for
                        new_user = form.save(commit=False)
                        new_user.email = found.email
                        new_user.save()
                        services.invitation_accept(invitation=found, token=token, user=new_user)
                    login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
                    return redirect("org-overview", org=found.organization.slug)
        except ValueError as exc:
            error = str(exc)
    elif not request.user.is_authenticated and not has_account:
        form = AccountForm()
    context = {"invitation": found, "has_account": has_account, "form": form, "error": error}
    response = render(request, "accounts/invite.html", context, status=400 if error or (form and form.errors) else 200)
    add_never_cache_headers(response)
    return response
