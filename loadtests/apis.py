"""Load-test runs API under /api/v1/loadtests/: thin views over loadtests.services and selectors.

Writes take a `loadtests:write` key (keys only: a browser session cannot write); reads a `metrics:read` key or a
member's session (`?org=`). Every lookup is by the run's uuid within the caller's organization.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import ApiKeyAuthentication
from accounts.models import ApiKey
from accounts.tenancy import request_organization
from loadtests import selectors, serializers, services
from loadtests.body import json_body, validated
from loadtests.models import LoadTestRun
from loadtests.scopes import LOADTESTS_WRITE, METRICS_READ
from portal.api.errors import InvalidRequest
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses

SAFE = ("GET", "HEAD", "OPTIONS")
_WRITE_ERRORS = error_responses(
    400, 401, 403, 404, 409, 413, 415, 429, 503, e404="No run with that uuid in the key's organization."
)


def request_key(request: Request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class _ReadOrWrite(RateLimitedMixin):
    """GET: `metrics:read` key or member session. Other methods: `loadtests:write` key only."""

    def get_authenticators(self) -> list[Any]:
        if getattr(self, "request", None) is not None and self.request.method not in SAFE:
            return [ApiKeyAuthentication()]
        return super().get_authenticators()

    @property
    def required_scope(self) -> str:
        request = getattr(self, "request", None)
        return METRICS_READ if request is None or request.method in SAFE else LOADTESTS_WRITE


class _WriteApi(RateLimitedMixin):
    required_scope = LOADTESTS_WRITE
    authentication_classes = [ApiKeyAuthentication]
    parser_classes: list[Any] = []  # read by loadtests.body (size caps, strict JSON)


class RunCollectionApi(_ReadOrWrite, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = serializers.RunSerializer
    parser_classes: list[Any] = []
    ordering = ("-started_at", "-id")

    def get_queryset(self) -> Any:
        params = self.request.query_params
        state = params.get("state")
        if state is not None and state not in LoadTestRun.State.values:
            raise InvalidRequest(
                f"parameter 'state': {state[:40]!r} is not one of {', '.join(LoadTestRun.State.values)}"
            )
        plan = params.get("plan") or None
        return selectors.run_list(organization=request_organization(self.request), state=state, plan=plan)

    @extend_schema(
        summary="Load-test runs of the organization, newest first",
        parameters=[
            OpenApiParameter("state", str, enum=list(LoadTestRun.State.values)),
            OpenApiParameter("plan", str, description="only this test plan's runs"),
        ],
        responses={200: serializers.RunSerializer(many=True), **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Register a run (Locust's test_start): answers its uuid",
        request=serializers.RegisterSerializer,
        responses={201: serializers.CreatedSerializer, **_WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = validated(serializers.RegisterSerializer, json_body(request))
        run = services.run_register(
            organization=request_organization(request),
            api_key=request_key(request),
            check_expressions=data.pop("checks"),
            **data,
        )
        return Response({"uuid": run.uuid}, status=status.HTTP_201_CREATED)


class RunDetailApi(RateLimitedMixin):
    required_scope = METRICS_READ

    @extend_schema(
        summary="One run: totals, per-endpoint final stats, checks and its stats series",
        responses={200: serializers.RunDetailSerializer, **error_responses(401, 403, 404, 429, 503)},
    )
    def get(self, request: Request, run: uuid_module.UUID) -> Response:
        found = selectors.run_get(organization=request_organization(request), uuid=run)
        found.series_rows = selectors.run_series(run=found)  # type: ignore[attr-defined]
        return Response(serializers.RunDetailSerializer(found).data)


class RunStatsApi(_WriteApi):
    @extend_schema(
        summary="Stats of the last interval during a run (→ time series `locust`)",
        request=serializers.StatsSerializer,
        responses={204: None, **_WRITE_ERRORS},
    )
    def post(self, request: Request, run: uuid_module.UUID) -> Response:
        found = selectors.run_get(organization=request_organization(request), uuid=run)
        data = validated(serializers.StatsSerializer, json_body(request))
        services.run_stats_record(run=found, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


def commit_answer(result: services.CommitResult) -> dict[str, Any]:
    run = result.run
    return {
        "uuid": run.uuid,
        "state": run.state,
        "requests": run.requests,
        "failures": run.failures,
        "checks": result.checks,
        "failed_checks": result.failed_checks,
        "compared_to": run.compared_to.uuid if run.compared_to else None,
        "url": serializers.RunSerializer().get_url(run),
    }


class RunCommitApi(_WriteApi):
    @extend_schema(
        summary="Final results: completes the run (once; a second commit is 409) and evaluates its checks",
        description="The body is an object, or Locust's own `--json` output (a list of entries).",
        request=serializers.CommitSerializer,
        responses={200: serializers.CommitAnswerSerializer, **_WRITE_ERRORS},
    )
    def post(self, request: Request, run: uuid_module.UUID) -> Response:
        found = selectors.run_get(organization=request_organization(request), uuid=run)
        body = json_body(request, allow_list=True)
        data = validated(serializers.CommitSerializer, {"entries": body} if isinstance(body, list) else body)
        return Response(commit_answer(services.run_commit(run=found, **data)))


class RunBaselineApi(_WriteApi):
    parser_classes: list[Any] = []

    @extend_schema(
        summary="Pin a completed run as its plan's baseline (one per plan)",
        request=None,
        responses={200: serializers.RunSerializer, **error_responses(401, 403, 404, 409, 429, 503)},
    )
    def post(self, request: Request, run: uuid_module.UUID) -> Response:
        found = selectors.run_get(organization=request_organization(request), uuid=run)
        return Response(serializers.RunSerializer(services.run_pin_baseline(run=found)).data)


class RunCompareApi(RateLimitedMixin):
    required_scope = METRICS_READ

    @extend_schema(
        summary="Compare a run with its plan's baseline or another run of the plan",
        parameters=[OpenApiParameter("to", str, description="'baseline' (default) or a run's uuid")],
        responses={200: serializers.CompareSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request: Request, run: uuid_module.UUID) -> Response:
        organization = request_organization(request)
        found = selectors.run_get(organization=organization, uuid=run)
        to = request.query_params.get("to") or "baseline"
        return Response(selectors.run_compare(organization=organization, run=found, to=to))
