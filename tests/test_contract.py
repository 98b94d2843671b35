"""The contract: schemathesis generates requests from /openapi.json for every operation, valid
ones and ones that break the description, on both databases, and holds every answer to every
check it has: no 5xx, documented statuses, content types, headers and bodies, invalid data
refused, valid data accepted, missing headers refused, undeclared methods 405 with `Allow`, and
authentication enforced. `CONTRACT_EXAMPLES` sets the fuzzed examples per operation and mode
(default 10; the description's examples and the coverage of each constraint come on top).

A failure prints schemathesis's report: the check, the answer and a curl command to reproduce.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.checks import negative_data_rejection as schemathesis_negative_data_rejection
from schemathesis.checks import positive_data_acceptance as schemathesis_positive_data_acceptance
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.generation.modes import GenerationMode
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import ignored_auth as schemathesis_ignored_auth

EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "10"))

# What the description cannot state, by the path of the field a 422 names (list indexes left
# out; `.*` for a map's keys): a schema-valid request may be refused with a 422 naming only
# these. Anything else a valid request is refused for is a failure.
BEYOND_THE_DESCRIPTION = {
    # Data, not shape:
    "cursor": "an opaque token that the server gave out with the previous page",
    "Idempotency-Key": "a key already used with another body or path is refused",
    "project_id": "must name a project of the team",
    "assignments.person_id": "a previewed staffing's `person_id` must name a person of the team",
    "url": "a webhook URL's host must resolve to a public address",
    "tickets.site": "a Jira site's host must resolve to a public address (the webhooks' rules)",
    "event_types": "each pattern must match an event type (GET /v1/event-types)",
    "assignments": "a person holds a role once in a staffing (no schema says which items "
    "of a list must differ in two of their fields)",
    # A rule across two fields, which the description states in words:
    "traits.uses_third_party_models": "follows from `model_source`: stating both, they agree",
    "project.traits.uses_third_party_models": "the same, in a preview's project",
    # OpenAPI 3.0 cannot constrain a map's keys (`propertyNames` came with 3.1):
    "headers.*": "a webhook's static header names are RFC 9110 tokens the service does not set",
    "status_map.*": "a `generic` integration's states are any strings of 1 to 64 characters",
}

# Cases that fail today for a reason in files outside this suite's reach, each with what is
# wrong. Remove an entry when its fix lands: the check then runs for that operation again.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}

# NUL is refused anywhere in a URL (400) or a body (422), a rule of the whole API
# (docs/api.md, Conventions) rather than of each field: tests/api cover it, and the generated
# strings leave it out.
ALLOW_NUL = False


def _refused_paths(errors: Any, path: tuple[str, ...] = ()) -> set[str]:
    """The paths of the fields a validation problem's `errors` refuses, list indexes left out
    (`{"assignments": {"0": {"role": [...]}}}` and `{"assignments.0.role": [...]}` alike)."""
    if isinstance(errors, dict):
        return set().union(
            *(_refused_paths(v, (*path, *str(k).split("."))) for k, v in errors.items())
        )
    return {".".join(part for part in path if not part.isdigit()) or "_body"}


def _beyond_the_description(path: str) -> bool:
    # A map's key that cannot be named in a path (the empty one) is reported on the map.
    return path in BEYOND_THE_DESCRIPTION or any(
        entry.endswith(".*") and (path == entry[:-2] or path.startswith(entry[:-1]))
        for entry in BEYOND_THE_DESCRIPTION
    )


def positive_data_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's own check, except that a 422 naming only fields whose rules are
    `BEYOND_THE_DESCRIPTION` is an answer, and so is a 412 to a generated `If-Match`."""
    try:
        return schemathesis_positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        # An `If-Match` is a precondition on data: a generated ETag that is not the resource's
        # current one is answered 412, as the operation documents (the description cannot
        # say which ETags are current).
        if response.status_code == 412 and "If-Match" in (case.headers or {}):
            return None
        if response.status_code == 422:
            errors = json.loads(response.content or b"{}").get("errors") or {}
            if errors and all(_beyond_the_description(p) for p in _refused_paths(errors)):
                return None
        raise


def negative_data_rejection(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's own check, except that a 413 is a refusal too: a generated body over
    `MAX_BODY_BYTES` is refused before it is read (problem+json `body-too-large`), whatever
    else is wrong with it."""
    try:
        return schemathesis_negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if response.status_code == 413:
            return None
        raise


# The operations whose authentication is confirmed, per application (backend).
_AUTH_ENFORCED: dict[int, set[str]] = {}


def ignored_auth(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's own check, which sends an operation again without a key and with a
    wrong one, once per operation and backend, as its own runner does, not after every 2xx."""
    application = (ctx.internals.transport_kwargs or {}).get("app")
    ctx.auth_enforced_operations = _AUTH_ENFORCED.setdefault(id(application), set())
    return schemathesis_ignored_auth(ctx, response, case)


load_all_checks()
OURS = {
    schemathesis_positive_data_acceptance: positive_data_acceptance,
    schemathesis_negative_data_rejection: negative_data_rejection,
    schemathesis_ignored_auth: ignored_auth,
}
ALL_CHECKS = [OURS.get(check, check) for check in CHECKS.get_all()]


@pytest.fixture
def contract_schema(app: Flask) -> BaseSchema:
    """The description as the application of the backend under test serves it. Read when the
    test runs, not when it is collected: building an application and the tests of every
    operation took most of the suite's collection time."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        allow_x00=ALLOW_NUL,
        # The key is the test's (`api`): generated or mutated `Authorization` headers would be
        # overwritten by it, and `ignored_auth` sends every operation without a key and with a
        # wrong one anyway.
        with_security_parameters=False,
    )
    return schema


# One test per backend; each operation is a subtest of it, reported with the operation's
# label (`test_every_answer_keeps_the_contract[sqlite] (label='POST /v1/projects')`).
@schemathesis.pytest.from_fixture("contract_schema").parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_keeps_the_contract(case, app, api):
    """Every phase (the spec's examples, coverage of each constraint's edges, fuzzing), both
    modes, every check; sent to the application of the backend under test."""
    known = {check for (label, check), _ in KNOWN_FAILURES.items() if label == case.operation.label}
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {api.token}"},
        checks=[c for c in ALL_CHECKS if c.__name__ not in known],
    )
