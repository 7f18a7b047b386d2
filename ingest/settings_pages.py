"""Settings → Devices → Delete data: confirm by typing the device's name; then the page shows the task's
progress (reloading itself while it runs) and the earlier deletions of the device."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Organization
from accounts.pages import actor, settings_context, settings_page
from devices.models import Device
from ingest.deletion import device_data_delete_request
from ingest.models import DataDeletion

REFRESH_SECONDS = 2


@settings_page
def delete_data_page(request: HttpRequest, organization: Organization, device: str) -> HttpResponse:
    found = Device.objects.filter(organization=organization, slug=device).select_related("organization").first()
    if found is None:
        raise Http404("No such device in this organization.")
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm", "").strip() == found.name:
            device_data_delete_request(device=found, actor=actor(request))
            return redirect("settings-device-delete-data", org=organization.slug, device=found.slug)
        error = f"To confirm, type the device's name exactly: {found.name}"
    deletions = list(DataDeletion.objects.filter(organization=organization, device=found)[:10])
    context = settings_context(
        organization,
        "devices",
        device=found,
        deletions=deletions,
        error=error,
        refresh=REFRESH_SECONDS if any(d.active for d in deletions) else None,
    )
    return render(request, "ingest/settings/delete_data.html", context, status=400 if error else 200)
