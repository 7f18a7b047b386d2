"""The pages' forms for rules and silences; choices limited to the page's organization."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Organization
from alerts.models import AlertRule, Silence
from alerts.services import RULE_FIELDS
from devices.models import Device

_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RecipientsField(forms.CharField):
    """Email addresses, one per line or comma-separated, as a list."""

    def prepare_value(self, value: Any) -> str:
        return "\n".join(value) if isinstance(value, list) else (value or "")

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class RuleForm(forms.ModelForm):
    recipients = RecipientsField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One per line.")

    class Meta:
        model = AlertRule
        fields = [*RULE_FIELDS, "devices"]
        widgets = {"devices": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.organization = organization
        fields: dict[str, Any] = self.fields
        fields["devices"].queryset = Device.objects.filter(organization=organization).order_by("name")
        fields["devices"].help_text = "None ticked and no pattern: every device of the organization."

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in RULE_FIELDS if name in self.cleaned_data}


class SilenceForm(forms.ModelForm):
    class Meta:
        model = Silence
        fields = ["rule", "devices", "starts_at", "ends_at", "reason"]
        widgets = {"devices": forms.CheckboxSelectMultiple, "starts_at": _LOCAL, "ends_at": _LOCAL}
        help_texts = {"rule": "Empty: every rule.", "devices": "None ticked: every device."}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.organization = organization
        fields: dict[str, Any] = self.fields
        fields["rule"].queryset = AlertRule.objects.filter(organization=organization).order_by("name")
        fields["devices"].queryset = Device.objects.filter(organization=organization).order_by("name")
        for name in ("starts_at", "ends_at"):
            fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
