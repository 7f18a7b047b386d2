"""Settings pages of accounts under /o/<org>/ (included by portal/urls.py)."""

from django.urls import path

from accounts.pages import audit, keys, members

urlpatterns = [
    path("settings/keys/", keys.keys_page, name="settings-keys"),
    path("settings/keys/<int:key>/revoke/", keys.key_revoke, name="settings-key-revoke"),
    path("settings/keys/<int:key>/rotate/", keys.key_rotate, name="settings-key-rotate"),
    path("settings/members/", members.members_page, name="settings-members"),
    path("settings/members/<int:member>/role/", members.member_role, name="settings-member-role"),
    path("settings/members/<int:member>/remove/", members.member_remove, name="settings-member-remove"),
    path("settings/audit/", audit.audit_page, name="settings-audit"),
]
