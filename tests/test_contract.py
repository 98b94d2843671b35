"""Contract fuzzing: schemathesis generates requests from /openapi.json for every operation;
whatever it sends, the service never answers 5xx."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_breaks_the_service(app, api, mode):
    """Valid requests (positive) and requests that break the description (negative)."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {api.token}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=int(os.environ.get("CONTRACT_EXAMPLES", "40")),
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            response = case.call(headers=auth)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            exercise()
        except Unsatisfiable:
            # An operation with no input (GET /healthz) has nothing to break.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
