"""Documents the cross-cutting request headers on every `/v1` operation of the OpenAPI spec."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin


def _header(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


# Each header's schema says what the server enforces, no more: a request id that is not 1-128
# of these characters is replaced, not refused (`app.http.request_context`); ETags are compared,
# never parsed, so any value is a valid one that matches or not.
REQUEST_ID = _header(
    "X-Request-ID",
    "Your id for this request, echoed back, logged and stored on events when it is 1 to 128 "
    "characters of `[A-Za-z0-9._:-]`; any other value is replaced by one the server makes",
    example="req-2f6c1a",
)
IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "Retry safely: the same key and body within a day replays the first response; "
    "1 to 255 printable characters (422 otherwise)",
    minLength=1,
    maxLength=255,
    # What `str.isprintable()` accepts among the characters a header can carry (Latin-1).
    pattern="^[^\\x00-\\x1f\\x7f-\\xa0\\xad]+$",
)
IF_MATCH = _header("If-Match", "The ETag you read; 412 if the resource changed since")
IF_NONE_MATCH = _header("If-None-Match", "The ETag you hold; 304 if it is still current")

# `If-Match` is not here: it is documented on the operations that document a 412, each
# declared by its view (`app.http.etags.honours_if_match`), which also enforces it.
_BY_METHOD = {
    "get": (IF_NONE_MATCH,),
    "post": (IDEMPOTENCY_KEY,),
}


# The error statuses every `/v1` operation may answer, by what it does (problem+json each).
_ALWAYS = (401, 403, 429, 503)
_WITH_PATH_PARAMETERS = (404,)
_BY_METHOD_RESPONSES = {
    "get": (304,),
    "post": (400, 409, 413, 415),
    "put": (400, 409, 413, 415),
    "patch": (400, 409, 413, 415),
    "delete": (409,),
}


def _shapes_by(
    definition: dict[str, Any], field: str, overrides: dict[str, dict[str, dict[str, Any] | None]]
) -> dict[str, Any]:
    """A schema whose `SHAPES_BY = (field, {value: {other field: its rules}})` documents as a
    `oneOf` of one shape per value of `field`: the rules of its other fields depend on it (a
    ticket's key is written as its system writes keys)."""
    common = {k: v for k, v in definition.items() if k != "properties"}
    shapes = []
    for value, rules in overrides.items():
        properties = {**definition["properties"], field: {"type": "string", "enum": [value]}}
        for name, extra in rules.items():
            if extra is None:  # a field this value does not have
                properties.pop(name, None)
                continue
            properties[name] = {**properties[name], **extra}
        shapes.append({**common, "properties": properties})
    definition.clear()  # the component is its shapes (apispec merges what this returns)
    return {"oneOf": shapes}


# What apispec writes for a nullable nested schema in OpenAPI 3.0: "any object, or the
# schema", which lets through the empty object the server refuses.
_ANY_NULLABLE_OBJECT = {"type": "object", "nullable": True}


def _null_or_reference(
    _converter: Any, _field: Any, ret: dict[str, Any], **_: Any
) -> dict[str, Any]:
    """A nullable nested schema is the schema or `null`, nothing else (`enum: [null]` is
    how OpenAPI 3.0 says "only null")."""
    alternatives = ret.get("anyOf")
    if not alternatives or _ANY_NULLABLE_OBJECT not in alternatives:
        return {}
    return {
        "anyOf": [
            {**_ANY_NULLABLE_OBJECT, "enum": [None]} if a == _ANY_NULLABLE_OBJECT else a
            for a in alternatives
        ]
    }


class ConventionsPlugin(BasePlugin):
    """Adds what every `/v1` operation honours to the spec: the request headers (request id,
    idempotency, ETags) and the error responses of the shared mechanisms."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        self.spec = spec
        for plugin in spec.plugins:
            if converter := getattr(plugin, "converter", None):
                converter.add_attribute_function(_null_or_reference)

    def schema_helper(
        self, name: str, definition: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any] | None:
        """A schema's `EXAMPLE` is its component's `example`. A schema whose `EXACTLY_ONE_OF`
        names fields of which a body holds exactly one is documented as a `oneOf` of its
        shapes, one shape per field: what marshmallow's fields alone cannot say, and what a
        generated client makes a union of models of."""
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        example = {"example": schema_class.EXAMPLE} if hasattr(schema_class, "EXAMPLE") else {}
        shapes_by = getattr(schema_class, "SHAPES_BY", None)
        if shapes_by and "properties" in definition:
            shaped = _shapes_by(definition, *shapes_by)
            for shape in shaped["oneOf"]:
                self._titled_as_components(shape["properties"])
            return {**shaped, **example}
        alternatives = getattr(schema_class, "EXACTLY_ONE_OF", None)
        if not alternatives or "properties" not in definition:
            return example or None
        common = {k: v for k, v in definition.items() if k not in ("properties", "required")}
        shapes = [
            {
                **common,
                "properties": {
                    field: spec
                    for field, spec in definition["properties"].items()
                    if field == chosen or field not in alternatives
                },
                "required": [*definition.get("required", []), chosen],
            }
            for chosen in alternatives
        ]
        definition.clear()  # the component is its shapes (apispec merges what this returns)
        return {"oneOf": shapes, **example}

    def _titled_as_components(self, properties: dict[str, Any]) -> None:
        """A shape's object property with a `title` becomes the component of that name: a
        client generator names its model by it rather than by a position in the `oneOf`."""
        for field, spec in properties.items():
            title = spec.get("title")
            if title and spec.get("type") == "object":
                if title not in self.spec.components.schemas:
                    self.spec.components.schema(title, component=spec)
                properties[field] = {"$ref": f"#/components/schemas/{title}"}

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not path or not path.startswith("/v1/") or not operations:
            return
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            headers = [REQUEST_ID, *_BY_METHOD.get(method, ())]
            if "412" in responses or 412 in responses:
                headers.append(IF_MATCH)
            parameters = operation.setdefault("parameters", [])
            for header in headers:
                parameters.append(dict(header))
            statuses = [*_ALWAYS, *_BY_METHOD_RESPONSES.get(method, ())]
            if "{" in path:
                statuses.extend(_WITH_PATH_PARAMETERS)
            for status in statuses:
                if str(status) not in responses and status not in responses:
                    name = HTTPStatus(status).name
                    responses[str(status)] = self.spec.components.get_ref("response", name)
