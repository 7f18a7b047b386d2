"""What each app contributes to the shared pages and probes, by dotted path (settings import these names).

Lower apps never import the top; the top finds their parts here instead. A new app adds its lines to the
lists below — nothing else changes. Tests override them like any setting (`settings.CHART_BANDS = [...]`).
"""

from __future__ import annotations

# Checks run by /health/ready (portal/health.py); each is a callable raising on failure.
HEALTH_CHECKS = {
    "database": "portal.health.check_database",
    "cache": "portal.health.check_cache",
    "broker": "portal.health.check_broker",
    "beat": "portal.health.check_beat",
}

# Sections of /api/v1/status (portal/status.py): callables (organization) -> dict.
STATUS_SECTIONS = {
    "store": "timeseries.health.store_status",
    "devices": "devices.selectors.device_status",
    "scrape": "quotas.status_section.scrape_status",  # last scrape of each Kong target
}


def _section(name: str, template: str, context: str) -> dict[str, str]:
    return {"name": name, "template": template, "context": context}


# Sections of the organization overview /o/<org>/ (portal/pages/sections.py), in this order: a template
# snippet and a callable (request, organization) -> context dict, or None to leave the section out.
OVERVIEW_SECTIONS = [
    _section("devices", "devices/overview_section.html", "devices.sections.overview"),
    _section("alerts", "alerts/overview_section.html", "alerts.sections.overview"),  # firing alerts
    _section("quotas", "quotas/overview_section.html", "quotas.sections.overview"),
    _section("notifications", "notifications/overview_section.html", "notifications.sections.overview"),
    _section("gauges", "registry/overview.html", "registry.sections.recent"),
    _section("loadtests", "loadtests/running.html", "loadtests.sections.running"),
]

# Sections of a device's page /o/<org>/devices/<device>/ (ingest/templates/ingest/device.html renders them with
# `{% device_sections %}`, portal/templatetags/portal_sections.py): a template snippet and a callable
# (request, organization, device) -> context dict, or None to leave the section out.
DEVICE_SECTIONS = [
    _section("alerts", "alerts/device_section.html", "alerts.sections.device"),  # its alerts and history
]

# Bands behind the device and service charts (portal/pages/bands.py): callables
# (organization, start, end) -> [{start, end, label, url}]; one that also takes `device` is given the device
# on a device page's charts (its own bands only), the others draw on every chart.
CHART_BANDS = [
    "alerts.sections.chart_bands",  # firing periods
    "loadtests.sections.chart_bands",  # load-test run windows
]
