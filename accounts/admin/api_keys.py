"""Admin for API keys: issue, rotate and revoke through accounts.services.

The plaintext of a key exists only in the response to the POST that created it:
it is rendered straight into that page (never put in a message, the session, a
log line or LogEntry), and the page is marked `Cache-Control: no-store`.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from accounts import services
from accounts.admin.forms import ApiKeyChangeForm, ApiKeyIssueForm
from accounts.audit import Actor
from accounts.models import ApiKey

_EDITABLE = ("name", "scopes", "expires_at", "rate_limit")  # what the change form may change
_ISSUED_ATTR = "_beacon_issued_keys"  # request attribute: lives for one request only
# "bcn_<key id>_<secret>", "bcn_<key id>_…" or a bare "bcn_<partial id>" typed into the search box.
_PASTED_KEY = re.compile(r"bcn_([0-9a-f]*)\S*", re.IGNORECASE)


def _key_ids_only(term: str) -> str:
    """The search term with each pasted key reduced to its key id."""
    return _PASTED_KEY.sub(lambda m: m.group(1), term).strip()


class ActiveFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        not_revoked = Q(revoked_at__isnull=True) | Q(revoked_at__gt=now)
        if self.value() == "active":
            return queryset.filter(not_revoked & (Q(expires_at__isnull=True) | Q(expires_at__gt=now)))
        if self.value() == "expired":
            return queryset.filter(not_revoked & Q(expires_at__lte=now))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__lte=now)
        return queryset


class DeviceBindingFilter(admin.SimpleListFilter):
    title = "binding"
    parameter_name = "binding"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("org", "Organization-wide"), ("device", "Bound to one device")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "org":
            return queryset.filter(device__isnull=True)
        if self.value() == "device":
            return queryset.filter(device__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key_prefix",
        "organization",
        "device",
        "scope_list",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "active",
    ]
    list_filter = [ActiveFilter, DeviceBindingFilter, "organization"]
    search_fields = ["name", "key_id", "organization__name", "organization__slug", "device__name"]
    list_select_related = ["organization", "device"]
    actions = ["revoke_selected", "rotate_selected"]
    form = ApiKeyChangeForm
    add_form = ApiKeyIssueForm
    add_fieldsets = [
        (
            None,
            {
                "fields": ["organization", "name", "device", "scopes", "issue_token"],
                "description": "Saving issues a new key and shows it ONCE on the next page. "
                "Copy it then: Beacon stores only a digest and cannot show it again.",
            },
        ),
        ("Limits", {"fields": ["expires_at", "rate_limit"]}),
    ]
    change_fieldsets = [
        (None, {"fields": ["name", "key_prefix", "organization", "device", "scopes"]}),
        ("Limits", {"fields": ["expires_at", "rate_limit"]}),
        (
            "Status",
            {
                "fields": ["active", "created_at", "last_used_at", "revoked_at", "rotated_from", "rotated_to_key"],
                "description": "Use the 'Revoke' or 'Rotate' actions on the API key list to stop or replace a key. "
                "'Last used' is updated at most once a minute.",
            },
        ),
        ("Stored secret", {"fields": ["digest"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "key_prefix",
        "organization",
        "device",
        "active",
        "created_at",
        "last_used_at",
        "revoked_at",
        "rotated_from",
        "rotated_to_key",
        "digest",
    ]

    # --- columns ---

    @admin.display(description="key", ordering="key_id")
    def key_prefix(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…" if obj.key_id else "—"

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="active?", boolean=True)
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active() if obj.pk else False

    @admin.display(description="replaced by")
    def rotated_to_key(self, obj: ApiKey) -> str:
        replacement = getattr(obj, "rotated_to", None)
        return str(replacement) if replacement is not None else "—"

    # --- add = issue ---

    def get_fieldsets(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
            kwargs["fields"] = ApiKeyIssueForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Admins paste what they have: "bcn_<key_id>_…" or even a whole key. A whole key in `?q=`
        # would be echoed in the search box and kept in browser history, so answer with a redirect
        # to the key-id-only search first (gunicorn's access log redacts the request line).
        term = request.GET.get(SEARCH_VAR, "")
        if _PASTED_KEY.search(term):
            query = request.GET.copy()
            query[SEARCH_VAR] = _key_ids_only(term)
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[ApiKey], search_term: str) -> Any:
        # Any other way in (a POSTed changelist keeps ?q=): a secret is never used in a query.
        return super().get_search_results(request, queryset, _key_ids_only(search_term))

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        actor = Actor(user=request.user)
        if change:
            # Through the service, so the change is in the organization's audit log with before/after.
            values = {name: form.cleaned_data[name] for name in form.changed_data if name in _EDITABLE}
            services.api_key_update(api_key=obj, actor=actor, **values)
            return
        data = form.cleaned_data
        issued = services.api_key_issue(
            organization=data["organization"],
            name=data["name"],
            scopes=data["scopes"],
            device=data.get("device"),
            expires_at=data.get("expires_at"),
            rate_limit=data.get("rate_limit") or "",
            actor=actor,
        )
        # The admin goes on with `obj` (LogEntry, response_add): make it the issued row.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued.api_key, field.attname))
        obj._state.adding = False
        obj._state.db = issued.api_key._state.db
        setattr(request, _ISSUED_ATTR, [(obj, issued.plaintext)])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> HttpResponse:
        issued = getattr(request, _ISSUED_ATTR, None)
        if not issued:
            return super().response_add(request, obj, post_url_continue)
        return self._render_issued(request, issued, title="API key issued")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Issuing shows a working plaintext, which only a user allowed to change keys may see.
        return super().has_add_permission(request) and self.has_change_permission(request)

    def _render_issued(self, request: HttpRequest, issued: list[tuple[ApiKey, str]], *, title: str) -> HttpResponse:
        # The last gate before a plaintext is shown, whatever path led here. Callers run in a
        # transaction (the add view's, the rotate action's), so raising leaves no key nobody saw.
        if not all(self.has_change_permission(request, api_key) for api_key, _ in issued):
            raise PermissionDenied("Showing a new API key needs the permission to change API keys.")
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "issued": [{"api_key": key, "plaintext": plaintext} for key, plaintext in issued],
            "changelist_url": reverse("admin:accounts_apikey_changelist", current_app=self.admin_site.name),
            "add_url": reverse("admin:accounts_apikey_add", current_app=self.admin_site.name),
        }
        response = TemplateResponse(request, "admin/accounts/apikey/issued.html", context)
        # The page holds secrets: no browser or proxy may keep a copy.
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private"
        return response

    # --- actions ---

    # Both actions change keys (rotation also shows new plaintexts): a view-only staff user must not run them.
    @admin.action(description="Revoke selected API keys (they stop working immediately)", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset:
            if api_key.revoked_at is None:
                services.api_key_revoke(api_key=api_key, actor=Actor(user=request.user))
                self.log_change(request, api_key, [{"changed": {"fields": ["revoked_at"]}}])
                revoked += 1
        skipped = queryset.count() - revoked
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} key(s) were already revoked and were left as they were.")

    @admin.action(
        description="Rotate selected API keys (issue replacements; old keys keep working for the grace period)",
        permissions=["change"],
    )
    def rotate_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        issued: list[tuple[ApiKey, str]] = []
        # One transaction: if the page may not be shown, no replacement is left behind.
        with transaction.atomic():
            for api_key in queryset.select_related("organization", "device"):
                try:
                    new = services.api_key_rotate(api_key=api_key, actor=Actor(user=request.user))
                except ValueError as exc:
                    self.message_user(request, f"{api_key}: not rotated: {exc}", messages.WARNING)
                    continue
                self.log_addition(request, new.api_key, [{"added": {}}])
                issued.append((new.api_key, new.plaintext))
            if not issued:
                return None
            return self._render_issued(request, issued, title="API keys rotated")
