"""`{% device_sections %}`: the sections other apps add to a device's page (settings.DEVICE_SECTIONS).

The device page belongs to ingest, which may not import its sibling apps (alerts); the template engine loads
this tag from the top layer at render time, so the page shows their sections without importing them.
Needs `request`, `organization` and `device` in the template's context.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from portal.pages.sections import device_sections as gather

register = template.Library()


@register.simple_tag(takes_context=True)
def device_sections(context: dict[str, Any]) -> SafeString:
    request, organization, device = context["request"], context["organization"], context["device"]
    rendered = [
        render_to_string(
            section.template,
            {"organization": organization, "device": device, "ctx": section.context},
            request=request,
        )
        for section in gather(request, organization, device)
    ]
    return mark_safe("".join(rendered))  # noqa: S308 - each part rendered by the template engine (escaped)
