"""Device endpoints; thin views over selectors."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView

from accounts.tenancy import request_organization
from devices import selectors
from devices.models import Device
from devices.serializers import DeviceSerializer
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses

_READ_ERRORS = error_responses(401, 403, 404, 429, e403="Lacks `metrics:read`.")


@extend_schema(responses={200: DeviceSerializer(many=True), **_READ_ERRORS})
class DeviceListApi(RateLimitedMixin, ListAPIView[Device]):
    """The organization's devices with their state (a key's org, or a member's `?org=<slug>`)."""

    required_scope = "metrics:read"  # registered by ingest; reading an organization's telemetry
    serializer_class = DeviceSerializer

    def get_queryset(self) -> QuerySet[Device]:
        return selectors.device_list(organization=request_organization(self.request))
