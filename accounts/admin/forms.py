"""Admin forms for API keys: scopes as checkboxes, device limited to the key's organization."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.core.cache import cache

from accounts import services
from accounts.models import ApiKey
from accounts.scopes import scope_choices


def _scope_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=scope_choices,  # only scopes an installed app registered
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do. Agents and Telegraf need 'Write metrics'; dashboards need 'Read metrics'.",
    )


class _ApiKeyFormBase(forms.ModelForm):  # type: ignore[type-arg]
    scopes = _scope_field()

    def clean_rate_limit(self) -> str:
        try:
            return services.validate_rate_limit(self.cleaned_data.get("rate_limit") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_scopes(self) -> list[str]:
        return sorted(set(self.cleaned_data["scopes"]))


# How long a submitted add form's token is remembered (a browser re-POST after that issues a new key).
ISSUE_TOKEN_SECONDS = 24 * 3600


class ApiKeyIssueForm(_ApiKeyFormBase):
    """The add form: the admin then calls `api_key_issue` instead of saving the form.

    A one-time token in the form stops a reload of the "key issued" page (the browser re-POSTs)
    from silently issuing a second key.
    """

    issue_token = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = ApiKey
        fields = ["organization", "name", "device", "scopes", "expires_at", "rate_limit"]
        help_texts = {
            "name": "Who or what uses the key, e.g. 'telegraf on edge-01' or 'grafana'.",
            "device": "Optional. A device-bound key can only write that device's data. "
            "It must belong to the organization chosen above. Leave empty for an organization-wide key.",
            "expires_at": "Optional. After this moment the key stops working. Empty: never expires.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        device_field = self.fields["device"]
        assert isinstance(device_field, forms.ModelChoiceField)
        devices = ApiKey.device_model()._default_manager.select_related("organization")
        device_field.queryset = devices.order_by("organization__name", "name")
        # "?organization=<id>" in the add URL narrows the device list to that org's devices. A POST keeps the
        # full list so clean() can say which organization a wrongly chosen device belongs to.
        org_id = None if self.is_bound else self.initial.get("organization")
        if org_id and str(org_id).isdigit():
            device_field.queryset = device_field.queryset.filter(organization_id=int(org_id))
        if not self.is_bound:
            self.initial["issue_token"] = secrets.token_urlsafe(16)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organization = cleaned.get("organization")
        device = cleaned.get("device")
        if organization is not None and device is not None and device.organization_id != organization.id:
            self.add_error(
                "device",
                f"Device '{device.name}' belongs to '{device.organization}', not to '{organization}'. "
                "Pick one of this organization's devices or leave it empty.",
            )
        if not self.errors:
            self._claim_issue_token(cleaned.get("issue_token") or "")
        return cleaned

    def _claim_issue_token(self, token: str) -> None:
        # cache.add is atomic on Redis (and in the single-process demo's local memory): exactly one
        # submission of a given form wins, however often the browser re-sends it.
        if not token or not cache.add(f"apikey-issue:{token}", 1, timeout=ISSUE_TOKEN_SECONDS):
            raise forms.ValidationError(
                "This form was already submitted and its key was shown once. "
                "Open 'Add API key' again to issue another key."
            )


class ApiKeyChangeForm(_ApiKeyFormBase):
    """Editing an issued key: grants and limits; the secret, org and device binding are fixed."""

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at", "rate_limit"]
        help_texts = {
            "expires_at": "After this moment the key stops working. Empty: never expires. "
            "To stop a key now, use the 'Revoke' action on the API key list.",
        }
