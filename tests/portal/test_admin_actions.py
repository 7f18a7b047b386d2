"""No admin action runs for a view-only staff user, on any registered model (issue 7, item 1).

The (model, action) pairs come from the admin site's registry, so an action added later, by us
or by a third-party app, is covered without touching this file.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts import services as accounts
from accounts.models import ApiKey, Membership
from notifications.services import notification_send
from portal.admin_config import registered_actions, require_change_permission

KEY_RE = re.compile(r"bcn_[0-9a-f]{16}_[A-Za-z0-9_\-]{20,128}")
ALL_ACTIONS = sorted(
    {
        (type(model_admin).__name__, model_admin.opts.label, name)
        for model_admin, name, _ in registered_actions(admin.site)
    }
)


def _snapshot() -> dict[str, list[dict[str, Any]]]:
    rows = {model._meta.label: list(model._default_manager.order_by("pk").values()) for model in admin.site._registry}
    rows["admin.LogEntry"] = list(LogEntry.objects.order_by("pk").values())
    return rows


@pytest.fixture
def rows(org, other_org, device, django_user_model) -> None:
    """At least one row of every registered model, so every action has something to act on."""
    customer = django_user_model.objects.create_user("carol", password="pw-not-used")
    Membership.objects.create(user=customer, organization=org, role="viewer")
    Group.objects.create(name="operators")
    for organization in (org, other_org):
        accounts.api_key_issue(organization=organization, name="telegraf", scopes=["metrics:write"])
    accounts.api_key_issue(organization=other_org, name="edge", scopes=["metrics:write"], device=None)
    notification_send(
        organization=org,
        kind="test",
        event_type="beacon.test",
        dedup_key="admin-actions",
        subject="s",
        text="t",
        payload={},
        emails=["ops@example.com"],
        webhook_urls=["https://hooks.example.com/beacon"],
    )
    # django-celery-beat's admin: periodic tasks, intervals and crontabs exist from migrate's setup_periodic_tasks.
    from django.utils import timezone
    from django_celery_beat.models import ClockedSchedule, SolarSchedule

    SolarSchedule.objects.create(event="sunrise", latitude=0, longitude=0)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    _quota_rows(org)
    from accounts.audit import audit_record

    audit_record(organization=org, action="api_key.issue", target="API key 'telegraf'", user=customer)


def _quota_rows(org: Any) -> None:
    from django.utils import timezone

    from quotas.models import GatewayService, Quota, ScrapeTarget, UsagePeriod

    service = GatewayService.objects.create(organization=org, name="shop", kong_service="shop-svc")
    Quota.objects.create(service=service, limit_bytes=1000)
    ScrapeTarget.objects.create(organization=org, url="http://127.0.0.1:9/metrics")
    now = timezone.now()
    UsagePeriod.objects.create(service=service, start=now, end=now, egress_bytes=5)


@pytest.fixture
def viewer_client(client, django_user_model):
    """A staff user holding every `view_*` permission and nothing else."""
    user = django_user_model.objects.create_user("vera", password="pw-not-used", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    return client


def test_the_registry_lists_our_key_actions() -> None:
    names = {(label, name) for _cls, label, name in ALL_ACTIONS}
    assert {("accounts.ApiKey", "revoke_selected"), ("accounts.ApiKey", "rotate_selected")} <= names


@pytest.mark.parametrize("action", ALL_ACTIONS, ids=["-".join(a[1:]) for a in ALL_ACTIONS])
def test_every_action_needs_more_than_view(action: tuple[str, str, str]) -> None:
    _cls, label, name = action
    declared = {
        tuple(getattr(func, "allowed_permissions", ()))
        for model_admin, action_name, func in registered_actions(admin.site)
        if model_admin.opts.label == label and action_name == name
    }
    assert declared and all(set(perms) & {"change", "delete"} for perms in declared), (label, name, declared)


def test_an_action_declaring_nothing_is_given_the_change_permission() -> None:
    # What BeaconAdminConfig.ready() does for third-party admins (e.g. django-celery-beat's task actions).
    def enable(modeladmin: Any, request: Any, queryset: Any) -> None: ...

    def purge(modeladmin: Any, request: Any, queryset: Any) -> None: ...

    purge.allowed_permissions = ("delete",)  # type: ignore[attr-defined]
    site = admin.AdminSite(name="probe")
    site.register(Group, admin.ModelAdmin)
    site._registry[Group].actions = [enable, purge]

    require_change_permission(site)

    declared = {name: tuple(func.allowed_permissions) for _ma, name, func in registered_actions(site)}
    assert declared == {"delete_selected": ("delete",), "enable": ("change",), "purge": ("delete",)}


@pytest.mark.django_db
@pytest.mark.parametrize("action", ALL_ACTIONS, ids=["-".join(a[1:]) for a in ALL_ACTIONS])
def test_view_only_staff_cannot_run_any_action(action: tuple[str, str, str], rows: None, viewer_client) -> None:
    _cls, label, name = action
    model = next(m for m in admin.site._registry if m._meta.label == label)
    pks = list(model._default_manager.values_list("pk", flat=True))
    assert pks, f"no {label} row: add one in the `rows` fixture so its actions are exercised"
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert viewer_client.get(url).status_code == 200  # the user really can open the list
    before = _snapshot()

    response = viewer_client.post(url, {"action": name, "_selected_action": pks, "index": 0, "post": "yes"})

    assert response.status_code in (200, 302, 403), response.status_code
    assert not KEY_RE.search(response.content.decode())
    assert _snapshot() == before


@pytest.mark.django_db
def test_the_same_post_works_for_a_user_allowed_to_change(rows: None, client, django_user_model) -> None:
    # The refusal above is about permissions, not a malformed POST: with change_apikey it revokes.
    user = django_user_model.objects.create_user("eve", password="pw-not-used", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_apikey", "change_apikey"]))
    client.force_login(user)
    pks = list(ApiKey.objects.values_list("pk", flat=True))

    response = client.post(
        reverse("admin:accounts_apikey_changelist"), {"action": "revoke_selected", "_selected_action": pks, "index": 0}
    )

    assert response.status_code == 302
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_issuing_a_key_needs_the_change_permission(org, client, django_user_model) -> None:
    user = django_user_model.objects.create_user("adam", password="pw-not-used", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_apikey", "add_apikey"]))
    client.force_login(user)
    form = {"organization": org.pk, "name": "x", "scopes": ["metrics:write"], "issue_token": "t" * 22}

    assert client.get(reverse("admin:accounts_apikey_add")).status_code == 403
    response = client.post(reverse("admin:accounts_apikey_add"), form)

    assert response.status_code == 403
    assert not KEY_RE.search(response.content.decode())
    assert ApiKey.objects.count() == 0
