"""Pages under /o/<org>/alerts/: states, history, rules and silences; org admins edit rules and silences.

Viewers read (page_organization); the editing views need the org admin role (page_organization_admin: a
viewer gets 403, a non-member 404), POST with CSRF, and every change is audited by the services.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.tenancy import is_org_admin, page_organization, page_organization_admin
from alerts import selectors, services
from alerts.forms import RuleForm, SilenceForm
from alerts.models import AlertRule, Silence

HISTORY_ROWS = 50


@login_required
def alerts_page(request: HttpRequest, org: str) -> HttpResponse:
    organization = page_organization(request.user, org)
    now = timezone.now()
    states = list(selectors.current_states(organization=organization))
    selectors.mark_silenced(states, organization=organization, now=now)
    silences = list(selectors.silence_list(organization=organization)[:100])
    context = {
        "organization": organization,
        "firing": [s for s in states if s.state == "firing" and not s.shown_silenced],  # type: ignore[attr-defined]
        "pending": [s for s in states if s.state == "pending" and not s.shown_silenced],  # type: ignore[attr-defined]
        "silenced": [s for s in states if s.shown_silenced],  # type: ignore[attr-defined]
        "history": list(selectors.history(organization=organization)[:HISTORY_ROWS]),
        "rules": list(selectors.rule_list(organization=organization)),
        "rule_counts": selectors.rule_state_counts(organization=organization),
        "active_silences": [s for s in silences if s.starts_at <= now < s.ends_at],
        "other_silences": [s for s in silences if not s.starts_at <= now < s.ends_at],
        "can_edit": is_org_admin(request.user, organization),
        "now": now,
    }
    return render(request, "alerts/alerts.html", context)


def _rule(organization: object, rule: int) -> AlertRule:
    found = selectors.rule_get(organization=organization, rule_id=rule)  # type: ignore[arg-type]
    if found is None:
        raise Http404("No such alert rule in this organization.")
    return found


def _silence(organization: object, silence: int) -> Silence:
    found = selectors.silence_get(organization=organization, silence_id=silence)  # type: ignore[arg-type]
    if found is None:
        raise Http404("No such silence in this organization.")
    return found


def _apply_errors(form: RuleForm | SilenceForm, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, org: str, rule: int | None = None) -> HttpResponse:
    organization = page_organization_admin(request.user, org)
    instance = _rule(organization, rule) if rule is not None else None
    # The form validates on a copy of its own: the service compares the saved rule with its values (audit).
    form = RuleForm(
        request.POST or None, instance=_rule(organization, rule) if rule else None, organization=organization
    )
    if request.method == "POST" and form.is_valid():
        devices = list(form.cleaned_data["devices"])
        try:
            if instance is None:
                saved = services.alert_rule_create(
                    organization=organization, values=form.values(), devices=devices, user=request.user
                )
            else:
                saved = services.alert_rule_update(
                    rule=instance, values=form.values(), devices=devices, user=request.user
                )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Rule {saved.name!r} saved.")
            return redirect("alerts-page", org=organization.slug)
    status = 400 if request.method == "POST" else 200
    context = {"organization": organization, "form": form, "rule": instance}
    return render(request, "alerts/rule_form.html", context, status=status)


@login_required
@require_POST
def rule_delete(request: HttpRequest, org: str, rule: int) -> HttpResponse:
    organization = page_organization_admin(request.user, org)
    found = _rule(organization, rule)
    services.alert_rule_delete(rule=found, user=request.user)
    messages.success(request, f"Rule {found.name!r} deleted.")
    return redirect("alerts-page", org=organization.slug)


@login_required
@require_http_methods(["GET", "POST"])
def silence_edit(request: HttpRequest, org: str, silence: int | None = None) -> HttpResponse:
    organization = page_organization_admin(request.user, org)
    instance = _silence(organization, silence) if silence is not None else None
    now = timezone.now().replace(second=0, microsecond=0)
    initial: dict[str, object] = {"starts_at": now, "ends_at": now + timedelta(hours=2)}
    if request.GET.get("rule", "").isdigit():
        initial["rule"] = int(request.GET["rule"])
    copy = _silence(organization, silence) if silence is not None else None
    form = SilenceForm(request.POST or None, instance=copy, organization=organization, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        devices = list(data["devices"])
        try:
            if instance is None:
                services.silence_create(
                    organization=organization, rule=data["rule"], devices=devices, starts_at=data["starts_at"],
                    ends_at=data["ends_at"], reason=data["reason"], user=request.user,
                )  # fmt: skip
            else:
                services.silence_update(silence=instance, values=data, devices=devices, user=request.user)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Silence saved.")
            return redirect("alerts-page", org=organization.slug)
    status = 400 if request.method == "POST" else 200
    context = {"organization": organization, "form": form, "silence": instance}
    return render(request, "alerts/silence_form.html", context, status=status)


@login_required
@require_POST
def silence_delete(request: HttpRequest, org: str, silence: int) -> HttpResponse:
    organization = page_organization_admin(request.user, org)
    services.silence_delete(silence=_silence(organization, silence), user=request.user)
    messages.success(request, "Silence deleted.")
    return redirect("alerts-page", org=organization.slug)
