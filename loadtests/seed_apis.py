"""The seed's /apiv0.1/events/... routes (documented as compatibility routes), over the same services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers as drf
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import ApiKeyAuthentication
from accounts.tenancy import request_organization
from loadtests import seed, selectors, services
from loadtests.apis import _WRITE_ERRORS, _WriteApi, request_key
from loadtests.body import json_body, validated
from loadtests.models import LoadTestRun
from loadtests.scopes import LOADTESTS_WRITE, METRICS_READ
from portal.api.errors import Forbidden
from portal.api.ratelimit import RateLimitedMixin
from portal.api.schema import error_responses


class _Uuid(drf.Serializer[dict]):
    uuid = drf.UUIDField()


class _Committed(drf.Serializer[dict]):
    uuid = drf.UUIDField()
    state = drf.CharField()


class SeedRegisterApi(_WriteApi):
    @extend_schema(
        summary="Seed route: register a load test (answers its uuid)",
        tags=["loadtests (seed-compatible)"],
        request=seed.SeedRegisterSerializer,
        responses={200: _Uuid, **_WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = validated(seed.SeedRegisterSerializer, json_body(request))
        run = services.run_register(
            organization=request_organization(request), api_key=request_key(request), **seed.register_arguments(data)
        )
        return Response({"uuid": run.uuid})


class SeedCommitApi(_WriteApi):
    @extend_schema(
        summary="Seed route: commit a load test's result (requestStats stored as given)",
        tags=["loadtests (seed-compatible)"],
        request=seed.SeedCommitSerializer,
        responses={200: _Committed, **_WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = validated(seed.SeedCommitSerializer, json_body(request))
        run = selectors.run_get(organization=request_organization(request), uuid=data["uuid"])
        stats = data["measurement"]["fields"]["requestStats"]
        result = services.run_commit(
            run=run, entries=[], ended_at=data.get("startedAt"), raw_stats=stats, rows=seed.commit_rows(stats)
        )
        return Response({"uuid": result.run.uuid, "state": result.run.state})


class SeedIsRunningApi(RateLimitedMixin):
    """The key that registers runs may ask which are running, as the seed's Locust does."""

    authentication_classes = [ApiKeyAuthentication]
    required_scope = None

    @extend_schema(
        summary="Seed route: the organization's running load tests, {uuid: true}",
        tags=["loadtests (seed-compatible)"],
        responses={
            200: OpenApiResponse(description='{"<uuid>": true, ...}'),
            **error_responses(401, 403, 429),
        },
    )
    def get(self, request: Request) -> Response:
        grant: Any = request.auth
        if not (grant.has_scope(LOADTESTS_WRITE) or grant.has_scope(METRICS_READ)):
            raise Forbidden(f"This API key lacks the '{LOADTESTS_WRITE}' or '{METRICS_READ}' scope.")
        runs = selectors.run_list(organization=request_organization(request), state=LoadTestRun.State.RUNNING)
        return Response({str(u): True for u in runs.values_list("uuid", flat=True)})
