"""Device and status endpoints; thin views over selectors."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import selectors
from devices.authentication import request_device_id, request_organization
from devices.models import ApiKey, Device, Scope
from devices.serializers import DeviceSerializer, StatusSerializer, WhoamiSerializer
from ingest.selectors import store_status
from portal import __version__
from portal.api_schema import error_responses
from portal.health import run_checks
from portal.ratelimit import RateLimitedMixin

_READ_ERRORS = error_responses(401, 403, 429, e403="Key lacks `metrics:read`.")


def _visible_devices(request: Request) -> QuerySet[Device]:
    # A device-bound key sees its own device only: the others are as invisible as another org's.
    return selectors.device_list(organization=request_organization(request), device_id=request_device_id(request))


@extend_schema(responses={200: DeviceSerializer(many=True), **_READ_ERRORS})
class DeviceListApi(RateLimitedMixin, ListAPIView[Device]):
    """The calling key's organization's devices with their state (a device-bound key: its own device)."""

    required_scope = Scope.METRICS_READ
    serializer_class = DeviceSerializer

    def get_queryset(self) -> QuerySet[Device]:
        return _visible_devices(self.request)


@extend_schema(
    responses={200: DeviceSerializer, **error_responses(401, 403, 404, 429, e403="Key lacks `metrics:read`.")}
)
class DeviceDetailApi(RateLimitedMixin, RetrieveAPIView[Device]):
    """One device by slug; another org's device, or another device for a device-bound key, is a 404."""

    required_scope = Scope.METRICS_READ
    serializer_class = DeviceSerializer
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Device]:
        return _visible_devices(self.request)


class WhoamiApi(RateLimitedMixin, APIView):
    """What the calling key acts for: its organization, its bound device (or null) and its scopes.

    Any valid key may ask (no scope needed): the edge agent uses it to learn the device a
    device-bound key forces, so an install without `device` configured tags points correctly.
    """

    @extend_schema(responses={200: WhoamiSerializer, **error_responses(401, 429)})
    def get(self, request: Request) -> Response:
        api_key = request.auth
        assert isinstance(api_key, ApiKey)  # HasScope let only key-authenticated calls through
        body = {
            "key_id": api_key.key_id,
            "organization": api_key.organization.slug,
            "device": api_key.device.name if api_key.device else None,
            "scopes": api_key.scopes,
            "expires_at": api_key.expires_at,
        }
        return Response(WhoamiSerializer(body).data)


class StatusApi(RateLimitedMixin, APIView):
    """Version, dependency health with latency, the time-series store, and device counts by state."""

    required_scope = Scope.METRICS_READ

    @extend_schema(responses={200: StatusSerializer, **_READ_ERRORS})
    def get(self, request: Request) -> Response:
        organization = request_organization(request)
        device_id = request_device_id(request)
        # The store is reported in its own block (backend name too); broker and beat are for operators.
        checks = run_checks([name for name in settings.HEALTH_CHECKS if name not in ("broker", "beat", "store")])
        body = {
            "version": __version__,
            "organization": organization.slug,
            "checks": checks,
            "store": store_status(),
            "device": request.auth.device.name if device_id is not None else None,  # type: ignore[union-attr]
            "devices": selectors.device_counts_by_state(organization=organization, device_id=device_id),
        }
        return Response(StatusSerializer(body).data)
