"""API keys of an organization, for its admins: list (last used), issue, revoke, rotate.

A new key's plaintext exists only in the answer to the POST that made it (issue or rotate): rendered into that
page with `no-store`, never put in the session, a message, a log line or the audit log. Reloading the page
does not show it again; the list shows only `bcn_<key id>_…`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import services
from accounts.models import ApiKey, Organization
from accounts.pages import actor, owned_or_404, settings_context, settings_page
from accounts.scopes import scope_choices

WRITE_SCOPE = "metrics:write"  # what the agent needs; only then is its install command shown


class KeyIssueForm(forms.Form):
    name = forms.CharField(max_length=128, help_text="Where the key is used, e.g. 'agent on pi-17'.")
    scopes = forms.MultipleChoiceField(choices=scope_choices, widget=forms.CheckboxSelectMultiple)
    device = forms.ModelChoiceField(
        queryset=ApiKey.device_model()._default_manager.none(),
        required=False,
        empty_label="Any device of the organization",
        help_text="A device-bound key can only read and write that device's data (best for an agent).",
    )
    expires_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="Empty: never expires. In UTC.",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        devices = ApiKey.device_model()._default_manager.filter(organization=organization)
        self.fields["device"].queryset = devices  # type: ignore[attr-defined]
        self.fields["device"].label_from_instance = lambda device: device.name  # type: ignore[attr-defined]

    def clean_expires_at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return value


def _keys(organization: Organization) -> list[ApiKey]:
    return list(
        ApiKey.objects.filter(organization=organization).select_related("device").order_by("revoked_at", "-created_at")
    )


def _page(request: HttpRequest, organization: Organization, form: KeyIssueForm, **extra: Any) -> HttpResponse:
    context = settings_context(organization, "keys", form=form, keys=_keys(organization), now=timezone.now(), **extra)
    return render(
        request, "accounts/settings/keys.html", context, status=400 if form.errors or "error" in extra else 200
    )


def _issued(request: HttpRequest, organization: Organization, issued: services.IssuedKey, title: str) -> HttpResponse:
    api_key = issued.api_key
    command = None
    if WRITE_SCOPE in api_key.scopes:
        # The real installer (agent/install.sh, docs/agent.md); a device-bound key needs no --device.
        command = f"sudo ./install.sh --url {settings.PUBLIC_URL.rstrip('/')} --key {issued.plaintext}"
        if api_key.device_id is None:
            command += " --device <device name>"
    context = settings_context(
        organization, "keys", api_key=api_key, plaintext=issued.plaintext, install_command=command, title=title
    )
    return render(request, "accounts/settings/key_issued.html", context)


@settings_page
def keys_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    if request.method != "POST":
        return _page(request, organization, KeyIssueForm(organization=organization))
    form = KeyIssueForm(request.POST, organization=organization)
    if not form.is_valid():
        return _page(request, organization, form)
    data = form.cleaned_data
    try:
        issued = services.api_key_issue(
            organization=organization,
            name=data["name"],
            scopes=data["scopes"],
            device=data["device"],
            expires_at=data["expires_at"],
            actor=actor(request),
        )
    except ValueError as exc:
        form.add_error(None, str(exc))
        return _page(request, organization, form)
    return _issued(request, organization, issued, "API key issued")


def _key(organization: Organization, key: int) -> ApiKey:
    return owned_or_404(ApiKey.objects.select_related("organization", "device"), organization, "API key", pk=key)


@require_POST
@settings_page
def key_revoke(request: HttpRequest, organization: Organization, key: int) -> HttpResponse:
    services.api_key_revoke(api_key=_key(organization, key), actor=actor(request))
    return redirect("settings-keys", org=organization.slug)


@require_POST
@settings_page
def key_rotate(request: HttpRequest, organization: Organization, key: int) -> HttpResponse:
    api_key = _key(organization, key)
    try:
        with transaction.atomic():
            issued = services.api_key_rotate(api_key=api_key, actor=actor(request))
    except ValueError as exc:
        form = KeyIssueForm(organization=organization)
        return _page(request, organization, form, error=f"{api_key.name}: {exc}")
    return _issued(request, organization, issued, "API key rotated")
