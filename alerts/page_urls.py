"""Pages of alerts under /o/<org>/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from alerts import pages

urlpatterns = [
    path("alerts/", pages.alerts_page, name="alerts-page"),
    path("alerts/rules/new", pages.rule_edit, name="alerts-rule-new"),
    path("alerts/rules/<int:rule>/", pages.rule_edit, name="alerts-rule-edit"),
    path("alerts/rules/<int:rule>/delete", pages.rule_delete, name="alerts-rule-delete"),
    path("alerts/silences/new", pages.silence_edit, name="alerts-silence-new"),
    path("alerts/silences/<int:silence>/", pages.silence_edit, name="alerts-silence-edit"),
    path("alerts/silences/<int:silence>/delete", pages.silence_delete, name="alerts-silence-delete"),
]
