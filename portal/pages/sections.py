"""Sections of the organization overview (settings.OVERVIEW_SECTIONS) and of a device's page (DEVICE_SECTIONS).

Each entry names a template snippet and, by dotted path, a callable `(request, organization) -> dict | None`
(device sections: `(request, organization, device)`) giving its context (None leaves the section out). The
pages import the callables, never the other way round, so an app adds its section by adding a line to
portal/contributions.py when it lands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

from accounts.models import Organization
from devices.models import Device

# A section's context callable: `(request, organization)` for the overview, `(request, organization, device)`
# for a device's page; its dict (or None: leave the section out).
SectionContext = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class RenderedSection:
    name: str
    template: str
    context: dict[str, Any]


@cache
def _callable(path: str) -> SectionContext:
    found: SectionContext = import_string(path)
    return found


def device_sections(request: HttpRequest, organization: Organization, device: Device) -> list[RenderedSection]:
    """settings.DEVICE_SECTIONS for one device's page (rendered by `{% device_sections %}`)."""
    sections = []
    for entry in settings.DEVICE_SECTIONS:
        context = _callable(entry["context"])(request, organization, device)
        if context is not None:
            sections.append(RenderedSection(entry["name"], entry["template"], context))
    return sections


def overview_sections(request: HttpRequest, organization: Organization) -> list[RenderedSection]:
    sections = []
    for entry in settings.OVERVIEW_SECTIONS:
        context = _callable(entry["context"])(request, organization)
        if context is not None:
            sections.append(RenderedSection(entry["name"], entry["template"], context))
    return sections
