"""Device and status endpoints; thin views over selectors."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import selectors
from devices.models import ApiKey, Device, Scope
from devices.serializers import DeviceSerializer, StatusSerializer
from portal import __version__
from portal.health import run_checks


class DeviceListApi(ListAPIView[Device]):
    """The calling key's organization's devices with their state."""

    required_scope = Scope.METRICS_READ
    serializer_class = DeviceSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        api_key = cast(ApiKey, self.request.auth)
        return selectors.device_list(organization=api_key.organization)


class StatusApi(APIView):
    """Version, dependency health with latency, and the org's device counts by state."""

    required_scope = Scope.METRICS_READ

    @extend_schema(responses=StatusSerializer)
    def get(self, request: Request) -> Response:
        organization = cast(ApiKey, request.auth).organization
        checks = run_checks([name for name in settings.HEALTH_CHECKS if name != "broker"])
        body = {
            "version": __version__,
            "organization": organization.slug,
            "checks": checks,
            "devices": selectors.device_counts_by_state(organization=organization),
        }
        return Response(StatusSerializer(body).data)
