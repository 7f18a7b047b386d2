"""Alerts API (org-scoped): states now, history, rules and silences.

Reads: `metrics:read` keys and members. Writes: keys with `alerts:write`, members with the org `admin`
role (their session, with CSRF) — design decision 2. Logic is in services/selectors.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import MemberGrant
from accounts.models import ApiKey, Organization
from accounts.tenancy import is_org_admin, request_device_id, request_organization
from alerts import selectors, services
from alerts.apps import ALERTS_WRITE
from alerts.models import AlertRule, Silence
from alerts.serializers import AlertEventSerializer, AlertRuleSerializer, AlertStateSerializer, SilenceSerializer
from devices.models import Device
from portal.api.errors import Forbidden, InvalidRequest, NotFound
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses

METRICS_READ = "metrics:read"  # registered by ingest (named, not imported: a sibling app)


class AlertsAccess(RateLimitedMixin):
    """The scope check per method, and the organization of the call."""

    @property
    def required_scope(self) -> str | None:
        if self.request.method in SAFE_METHODS:
            return METRICS_READ
        # A member's session holds no key scopes: its writes are checked against the org role below.
        return None if isinstance(self.request.auth, MemberGrant) else ALERTS_WRITE

    def organization(self) -> Organization:
        request = self.request
        if request_device_id(request) is not None:
            raise Forbidden("a device-bound key cannot use the alerts API; use an organization-wide key")
        organization = request_organization(request)
        member_write = request.method not in SAFE_METHODS and isinstance(request.auth, MemberGrant)
        if member_write and not is_org_admin(request.user, organization):
            raise Forbidden("changing alert rules and silences needs the organization's admin role")
        return organization

    def actor(self) -> dict[str, Any]:
        auth = self.request.auth
        return {"key": auth} if isinstance(auth, ApiKey) else {"user": self.request.user}

    def devices_named(self, organization: Organization, names: list[str] | None) -> list[Device] | None:
        if names is None:
            return None
        found = {d.name: d for d in Device.objects.filter(organization=organization, name__in=names)}
        unknown = [n for n in names if n not in found]
        if unknown:
            raise serializers.ValidationError({"devices": [f"no device named {unknown[0]!r} in this organization"]})
        return [found[n] for n in dict.fromkeys(names)]

    def silence_rule(self, organization: Organization, values: dict[str, Any]) -> AlertRule | None:
        rule_id = values.pop("rule_id", None)
        if rule_id is None:
            return None
        rule = selectors.rule_get(organization=organization, rule_id=rule_id)
        if rule is None:
            raise serializers.ValidationError({"rule": [f"no alert rule {rule_id} in this organization"]})
        return rule


def _invalid(exc: DjangoValidationError) -> serializers.ValidationError:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return serializers.ValidationError(detail)


READ_ERRORS = error_responses(400, 401, 403, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 429)
ONE_ERRORS = error_responses(400, 401, 403, 404, 429, e404="No such object in the organization.")


def _object_id(raw: str, what: str) -> int:
    """A path id: digits only and within bigint, else the same 404 as an unknown id (never Django's HTML 404,
    never a database overflow error)."""
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"no such {what} in this organization")
    return int(raw)


def _schema(name: str, serializer: Any, *, listing: bool = False, param: str = "") -> Any:
    """The OpenAPI operations of a list (GET, POST) or detail (GET, PUT, PATCH, DELETE) view."""
    if listing:
        return extend_schema_view(
            get=extend_schema(summary=f"List {name}s", responses={200: serializer(many=True), **READ_ERRORS}),
            post=extend_schema(summary=f"Create a {name}", responses={201: serializer, **WRITE_ERRORS}),
        )
    path_id = [OpenApiParameter(param, {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)]
    return extend_schema_view(
        get=extend_schema(summary=f"One {name}", parameters=path_id, responses={200: serializer, **ONE_ERRORS}),
        put=extend_schema(summary=f"Replace a {name}", parameters=path_id, responses={200: serializer, **ONE_ERRORS}),
        patch=extend_schema(summary=f"Change a {name}", parameters=path_id, responses={200: serializer, **ONE_ERRORS}),
        delete=extend_schema(summary=f"Delete a {name}", parameters=path_id, responses={204: None, **ONE_ERRORS}),
    )


@extend_schema_view(
    get=extend_schema(
        summary="Alert states now: firing and pending (silenced ones flagged)",
        responses={200: AlertStateSerializer(many=True), **READ_ERRORS},
    )
)
class AlertListApi(AlertsAccess, generics.ListAPIView):
    """States now: firing first, then pending (silenced ones flagged)."""

    serializer_class = AlertStateSerializer
    ordering = ("state", "pk")  # the cursor's order: "firing" sorts before "pending", then oldest first

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.current_states(organization=self.organization())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        selectors.mark_silenced(rows, organization=self.organization())
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)


@extend_schema_view(
    get=extend_schema(
        summary="Alert history: transitions to firing and back, newest first",
        parameters=[OpenApiParameter("rule", int, description="only this rule's events")],
        responses={200: AlertEventSerializer(many=True), **READ_ERRORS},
    )
)
class AlertHistoryApi(AlertsAccess, generics.ListAPIView):
    """Transitions to firing and back, newest first."""

    serializer_class = AlertEventSerializer

    def get_queryset(self) -> QuerySet[Any]:
        given = self.request.query_params.getlist("rule")
        rule_id = None
        if given:
            raw = given[0]
            if len(given) > 1 or not raw.isdigit() or len(raw) > 18:
                raise InvalidRequest(f"parameter 'rule': {raw!r} is not one rule id")
            rule_id = int(raw)
        return selectors.history(organization=self.organization(), rule_id=rule_id)


@_schema("alert rule", AlertRuleSerializer, listing=True)
class RuleListApi(AlertsAccess, generics.ListCreateAPIView):
    serializer_class = AlertRuleSerializer

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.rule_list(organization=self.organization())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        organization = self.organization()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        devices = self.devices_named(organization, values.pop("devices", None)) or []
        if AlertRule.objects.filter(organization=organization, name=values.get("name")).exists():
            raise serializers.ValidationError({"name": [f"a rule named {values.get('name')!r} exists"]})
        try:
            rule = services.alert_rule_create(organization=organization, values=values, devices=devices, **self.actor())
        except DjangoValidationError as exc:
            raise _invalid(exc) from None
        return Response(self.get_serializer(rule).data, status=201)


@_schema("alert rule", AlertRuleSerializer, param="rule")
class RuleDetailApi(AlertsAccess, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = AlertRuleSerializer
    lookup_url_kwarg = "rule"

    def get_object(self) -> AlertRule:
        rule_id = _object_id(self.kwargs["rule"], "alert rule")
        rule = selectors.rule_get(organization=self.organization(), rule_id=rule_id)
        if rule is None:
            raise NotFound("no such alert rule in this organization")
        return rule

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        serializer = self.get_serializer(rule, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        devices = self.devices_named(rule.organization, values.pop("devices", None))
        name = values.get("name")
        if name and AlertRule.objects.filter(organization=rule.organization, name=name).exclude(id=rule.id).exists():
            raise serializers.ValidationError({"name": [f"a rule named {name!r} exists"]})
        try:
            rule = services.alert_rule_update(rule=rule, values=values, devices=devices, **self.actor())
        except DjangoValidationError as exc:
            raise _invalid(exc) from None
        return Response(self.get_serializer(selectors.rule_get(organization=rule.organization, rule_id=rule.id)).data)

    def perform_destroy(self, instance: AlertRule) -> None:
        services.alert_rule_delete(rule=instance, **self.actor())


@_schema("silence", SilenceSerializer, listing=True)
class SilenceListApi(AlertsAccess, generics.ListCreateAPIView):
    serializer_class = SilenceSerializer

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.silence_list(organization=self.organization())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        organization = self.organization()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        rule = self.silence_rule(organization, values)
        devices = self.devices_named(organization, values.pop("devices", None)) or []
        try:
            silence = services.silence_create(
                organization=organization,
                rule=rule,
                devices=devices,
                starts_at=values.get("starts_at") or timezone.now(),
                ends_at=values["ends_at"],
                reason=values.get("reason", ""),
                **self.actor(),
            )
        except DjangoValidationError as exc:
            raise _invalid(exc) from None
        return Response(self.get_serializer(silence).data, status=201)


@_schema("silence", SilenceSerializer, param="silence")
class SilenceDetailApi(AlertsAccess, generics.RetrieveUpdateDestroyAPIView):
    serializer_class = SilenceSerializer
    lookup_url_kwarg = "silence"

    def get_object(self) -> Silence:
        silence_id = _object_id(self.kwargs["silence"], "silence")
        silence = selectors.silence_get(organization=self.organization(), silence_id=silence_id)
        if silence is None:
            raise NotFound("no such silence in this organization")
        return silence

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        silence = self.get_object()
        serializer = self.get_serializer(silence, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        if "rule_id" in values:
            values["rule"] = self.silence_rule(silence.organization, values)
        devices = self.devices_named(silence.organization, values.pop("devices", None))
        try:
            silence = services.silence_update(silence=silence, values=values, devices=devices, **self.actor())
        except DjangoValidationError as exc:
            raise _invalid(exc) from None
        return Response(self.get_serializer(silence).data)

    def perform_destroy(self, instance: Silence) -> None:
        services.silence_delete(silence=instance, **self.actor())
