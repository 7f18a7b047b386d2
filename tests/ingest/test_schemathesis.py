"""Schemathesis against a live server: every operation in /api/schema/, positive and negative examples.

Small and derandomized so it runs in seconds; scripts/fuzz_api.py runs the same checks at length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation import GenerationMode

from accounts.models import Organization
from tests.urlwalk import walk

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 12


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_and_never_answers_5xx(
    live_server: Any, org: Organization, issue_key: Callable[..., str], settings_override: Any, mode: GenerationMode
) -> None:
    key = issue_key(org)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # Fuzzed: every operation the schema lists (enumerated, not a fixed list). The schema must list every
    # method of every API route in the URL conf, so a route added without a schema is not left unfuzzed.
    listed = {f"{op.method.upper()} {op.path}" for op in operations}
    assert url_conf_operations() <= listed, url_conf_operations() - listed
    # Routes outside /api/ that clients expect at the root: the registry's exposition and Pushgateway pushes.
    registry = {"GET /metrics", "PUT /metrics/job/{job}", "POST /metrics/job/{job}/{labels}"}
    registry |= {"DELETE /metrics/job@base64/{job_base64}", "PUT /metrics/job@base64/{job_base64}/{labels}"}
    assert registry <= listed, registry - listed
    calls = 0
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            # positive_data_acceptance is left out: the schema cannot say "a time within the last 30 days" or
            # "start before end", so schema-valid inputs are rightly refused (docs/api.md, Fuzzing).
            case.call_and_validate(
                base_url=live_server.url,
                headers={"Authorization": f"Bearer {key}"},
                excluded_checks=[positive_data_acceptance],
            )

        run()
    assert calls >= len(operations)


def url_conf_operations() -> set[str]:
    """ "GET /api/v1/devices/{slug}" for each method of each `api/` route (schema and docs left out), and the
    load-test seed's compatibility routes under `apiv0.1/`."""
    operations = set()
    for route in walk():
        if route.route.startswith(("api/", "apiv0.1/")) and not route.route.startswith(("api/schema/", "api/docs/")):
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.route)
            operations |= {f"{method.upper()} {path}" for method in route.methods}
    return operations


@pytest.fixture
def settings_override(settings: Any) -> Any:
    settings.RATELIMIT_ENABLE = False
    return settings
