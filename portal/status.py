"""`GET /api/v1/status`: version, dependency health, and one section per app from settings.STATUS_SECTIONS.

Apps contribute sections by dotted path (`{"store": "timeseries.health.store_status", ...}`): each is a
callable `(organization) -> dict` that never raises, so portal imports no app to add a line. A section
that narrows to a device-bound key's device also takes `device_id=` (None for org-wide callers). A section
that raises anyway is reported as an error in its own place and the others still answer.
"""

from __future__ import annotations

import inspect
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils.module_loading import import_string
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from portal import __version__
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses
from portal.health import run_checks


class StatusCheckSerializer(serializers.Serializer[dict]):
    status = serializers.ChoiceField(choices=["ok", "degraded", "error"])
    latency_ms = serializers.FloatField()
    error = serializers.CharField(required=False)


class StoreStatusSerializer(serializers.Serializer[dict]):
    backend = serializers.CharField()
    status = serializers.ChoiceField(choices=["ok", "error"])
    latency_ms = serializers.FloatField()
    error = serializers.CharField(required=False)


class StatusSerializer(serializers.Serializer[dict]):
    """The fixed part; every STATUS_SECTIONS name adds a top-level object (`store`, `devices`, ...)."""

    version = serializers.CharField()
    organization = serializers.CharField()
    checks = serializers.DictField(child=StatusCheckSerializer())
    store = StoreStatusSerializer(help_text="Time-series store: backend, health, ping latency (timeseries.health).")
    device = serializers.CharField(
        allow_null=True, help_text="The device a device-bound key acts for (the counts are its own); else null."
    )
    devices = serializers.DictField(
        child=serializers.IntegerField(), help_text="Device counts by state (devices.selectors)."
    )
    scrape = serializers.DictField(
        required=False, help_text="`scrape_targets`: the last scrape of each Kong target (quotas.status_section)."
    )


def status_sections(organization: Any, *, device_id: int | None = None) -> dict[str, Any]:
    sections: dict[str, Any] = {}
    for name, path in settings.STATUS_SECTIONS.items():
        try:
            section = import_string(path)
            if "device_id" in inspect.signature(section).parameters:
                sections[name] = section(organization, device_id=device_id)
            else:
                sections[name] = section(organization)
        except DatabaseError:
            # The database is down (or frozen): answer the one JSON 503 now. Reporting it per section would
            # make each later section wait for its own connect timeout (9 s measured with a frozen database).
            raise
        except Exception as exc:  # one broken contribution must not take the page down
            sections[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return sections


class StatusApi(RateLimitedMixin):
    """Version, dependency health with latency, the time-series store, and device counts by state."""

    required_scope = "metrics:read"  # registered by ingest; reading an organization's telemetry

    @extend_schema(
        responses={200: StatusSerializer, **error_responses(401, 403, 404, 429, e403="Lacks `metrics:read`.")}
    )
    def get(self, request: Request) -> Response:
        # portal is the top layer: it may import any app; imported here so importing portal loads none.
        from accounts.tenancy import request_device_id, request_organization

        organization = request_organization(request)
        device_id = request_device_id(request)
        # The store is reported in its own section (backend name too), so skip its generic check.
        checks = run_checks([name for name in settings.HEALTH_CHECKS if name not in ("broker", "beat", "store")])
        device = request.auth.device if device_id is not None else None  # type: ignore[union-attr]
        body: dict[str, Any] = {"version": __version__, "organization": organization.slug, "checks": checks}
        body["device"] = device.name if device is not None else None
        body.update(status_sections(organization, device_id=device_id))
        return Response(body)
