"""Device and status endpoints; thin views over selectors."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import selectors
from devices.authentication import request_organization
from devices.models import Device, Scope
from devices.serializers import DeviceSerializer, StatusSerializer
from ingest.selectors import store_status
from portal import __version__
from portal.api_schema import error_responses
from portal.health import run_checks
from portal.ratelimit import RateLimitedMixin

_READ_ERRORS = error_responses(401, 403, 429, e403="Key lacks `metrics:read`.")


@extend_schema(responses={200: DeviceSerializer(many=True), **_READ_ERRORS})
class DeviceListApi(RateLimitedMixin, ListAPIView[Device]):
    """The calling key's organization's devices with their state."""

    required_scope = Scope.METRICS_READ
    serializer_class = DeviceSerializer

    def get_queryset(self) -> QuerySet[Device]:
        return selectors.device_list(organization=request_organization(self.request))


class StatusApi(RateLimitedMixin, APIView):
    """Version, dependency health with latency, the time-series store, and device counts by state."""

    required_scope = Scope.METRICS_READ

    @extend_schema(responses={200: StatusSerializer, **_READ_ERRORS})
    def get(self, request: Request) -> Response:
        organization = request_organization(request)
        # The store is reported in its own block (backend name too); broker and beat are for operators.
        checks = run_checks([name for name in settings.HEALTH_CHECKS if name not in ("broker", "beat", "store")])
        body = {
            "version": __version__,
            "organization": organization.slug,
            "checks": checks,
            "store": store_status(),
            "devices": selectors.device_counts_by_state(organization=organization),
        }
        return Response(StatusSerializer(body).data)
