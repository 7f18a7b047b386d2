"""Device endpoints; thin views over selectors."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import ApiKeyAuthentication
from accounts.models import ApiKey
from accounts.tenancy import request_device_id, request_organization
from devices import selectors
from devices.models import Device
from devices.serializers import DeviceSerializer, WhoamiSerializer
from portal.api.pagination import BAD_PAGE
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import ORG_PARAMETER, error_responses

_READ_ERRORS = error_responses(401, 403, 404, 429, e403="Lacks `metrics:read`.")
# Registered by ingest; reading an organization's telemetry (named, not imported: ingest is a higher layer).
METRICS_READ = "metrics:read"


def _visible_devices(request: Request) -> QuerySet[Device]:
    # A device-bound key sees its own device only: the others are as invisible as another org's.
    return selectors.device_list(organization=request_organization(request), device_id=request_device_id(request))


@extend_schema(
    parameters=[ORG_PARAMETER],
    responses={200: DeviceSerializer(many=True), **error_responses(400, e400=BAD_PAGE), **_READ_ERRORS},
)
class DeviceListApi(RateLimitedMixin, ListAPIView[Device]):
    """The organization's devices with their state (a key's org, or a member's `?org=<slug>`; a
    device-bound key: its own device)."""

    required_scope = METRICS_READ
    serializer_class = DeviceSerializer
    ordering = "name"  # unique within an organization: a stable cursor (portal/api/pagination.py)

    def get_queryset(self) -> QuerySet[Device]:
        return _visible_devices(self.request)


@extend_schema(responses={200: DeviceSerializer, **_READ_ERRORS})
class DeviceDetailApi(RateLimitedMixin, RetrieveAPIView[Device]):
    """One device by slug; another org's device, or another device for a device-bound key, is a 404."""

    required_scope = METRICS_READ
    serializer_class = DeviceSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Device]:
        return _visible_devices(self.request)


class WhoamiApi(RateLimitedMixin):
    """What the calling key acts for: its organization, its bound device (or null) and its scopes.

    Any valid key may ask (no scope needed): the edge agent uses it to learn the device a
    device-bound key forces, so an install without `device` configured tags points correctly.
    """

    authentication_classes = [ApiKeyAuthentication]  # about a key; a session has none

    @extend_schema(responses={200: WhoamiSerializer, **error_responses(401, 429)})
    def get(self, request: Request) -> Response:
        api_key = request.auth
        assert isinstance(api_key, ApiKey)  # key authentication only, and HasScope needs a grant
        body = {
            "key_id": api_key.key_id,
            "organization": api_key.organization.slug,
            "device": api_key.device.name if api_key.device else None,
            "scopes": api_key.scopes,
            "expires_at": api_key.expires_at,
        }
        return Response(WhoamiSerializer(body).data)
