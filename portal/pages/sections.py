"""Sections of the organization overview (settings.OVERVIEW_SECTIONS) and of a device's page (DEVICE_SECTIONS).

Each entry names a template snippet and, by dotted path, a callable `(request, organization) -> dict | None`
(device sections: `(request, organization, device)`) giving its context (None leaves the section out). The
pages import the callables, never the other way round, so an app adds its section by adding a line to
portal/contributions.py when it lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

from accounts.models import Organization
from devices.models import Device


class SectionContext(Protocol):
    def __call__(self, request: HttpRequest, organization: Organization) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class RenderedSection:
    name: str
    template: str
    context: dict[str, Any]


@cache
def _callable(path: str) -> SectionContext:
    found: SectionContext = import_string(path)
    return found


class DeviceSectionContext(Protocol):
    def __call__(self, request: HttpRequest, organization: Organization, device: Device) -> dict[str, Any] | None: ...


@cache
def _device_callable(path: str) -> DeviceSectionContext:
    found: DeviceSectionContext = import_string(path)
    return found


def device_sections(request: HttpRequest, organization: Organization, device: Device) -> list[RenderedSection]:
    """settings.DEVICE_SECTIONS for one device's page (rendered by `{% device_sections %}`)."""
    sections = []
    for entry in settings.DEVICE_SECTIONS:
        context = _device_callable(entry["context"])(request, organization, device)
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
