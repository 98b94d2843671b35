"""Documents the cross-cutting request headers on every `/v1` operation of the OpenAPI spec."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin


def _header(name: str, description: str, max_length: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", "maxLength": max_length},
    }


REQUEST_ID = _header(
    "X-Request-ID", "Your id for this request, echoed back and logged; one is made if absent", 128
)
IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "Retry safely: the same key and body within a day replays the first response",
    255,
)
IF_MATCH = _header("If-Match", "The ETag you read; 412 if the resource changed since", 200)
IF_NONE_MATCH = _header("If-None-Match", "The ETag you hold; 304 if it is still current", 200)

_BY_METHOD = {
    "get": (IF_NONE_MATCH,),
    "post": (IDEMPOTENCY_KEY,),
    "put": (IF_MATCH,),
    "patch": (IF_MATCH,),
    "delete": (IF_MATCH,),
}


# The error statuses every `/v1` operation may answer, by what it does (problem+json each).
_ALWAYS = (401, 403, 429, 503)
_WITH_PATH_PARAMETERS = (404,)
_BY_METHOD_RESPONSES = {
    "get": (304,),
    "post": (400, 409, 413, 415),
    "put": (400, 409, 412, 413, 415),
    "patch": (400, 409, 412, 413, 415),
    "delete": (409, 412),
}


class ConventionsPlugin(BasePlugin):
    """Adds what every `/v1` operation honours to the spec: the request headers (request id,
    idempotency, ETags) and the error responses of the shared mechanisms."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        self.spec = spec

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        if not path or not path.startswith("/v1/") or not operations:
            return
        for method, operation in operations.items():
            parameters = operation.setdefault("parameters", [])
            for header in (REQUEST_ID, *_BY_METHOD.get(method, ())):
                parameters.append(dict(header))
            statuses = [*_ALWAYS, *_BY_METHOD_RESPONSES.get(method, ())]
            if "{" in path:
                statuses.extend(_WITH_PATH_PARAMETERS)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                if str(status) not in responses and status not in responses:
                    name = HTTPStatus(status).name
                    responses[str(status)] = self.spec.components.get_ref("response", name)
