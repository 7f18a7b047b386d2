"""Devices of an organization under Settings, for its admins: rename, decommission, return to service.

Deleting a device's stored data is the store's business (a layer above): the page links to it
(ingest.settings_pages, /o/<org>/settings/devices/<device>/delete-data/).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Organization
from accounts.pages import actor, owned_or_404, settings_context, settings_page
from devices import services
from devices.models import Device
from devices.selectors import device_list


def _page(request: HttpRequest, organization: Organization, *, error: str = "", status: int = 200) -> HttpResponse:
    context = settings_context(
        organization, "devices", devices=list(device_list(organization=organization)), error=error
    )
    return render(request, "devices/settings/devices.html", context, status=status)


@settings_page
def devices_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _page(request, organization)


def _device(organization: Organization, slug: str) -> Device:
    return owned_or_404(Device.objects.select_related("organization"), organization, "device", slug=slug)


@require_POST
@settings_page
def device_rename(request: HttpRequest, organization: Organization, device: str) -> HttpResponse:
    found = _device(organization, device)
    try:
        services.device_rename(device=found, name=request.POST.get("name", ""), actor=actor(request))
    except ValueError as exc:
        return _page(request, organization, error=f"{found.name}: {exc}", status=400)
    return redirect("settings-devices", org=organization.slug)


@require_POST
@settings_page
def device_decommission(request: HttpRequest, organization: Organization, device: str) -> HttpResponse:
    services.device_decommission(device=_device(organization, device), actor=actor(request))
    return redirect("settings-devices", org=organization.slug)


@require_POST
@settings_page
def device_recommission(request: HttpRequest, organization: Organization, device: str) -> HttpResponse:
    services.device_recommission(device=_device(organization, device), actor=actor(request))
    return redirect("settings-devices", org=organization.slug)
