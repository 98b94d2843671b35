"""What the REST stand-ins (GitHub's, Jira's) share to check a call against an OpenAPI 3.0
description: the operations by method and path pattern, query values typed as their schema
says, and a schema's errors for an instance, as readable lines.
"""

from __future__ import annotations

import re
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

# (method, path pattern, operation) for each operation of a description.
Operations = list[tuple[str, re.Pattern[str], dict[str, Any]]]


def compile_operations(description: dict[str, Any]) -> Operations:
    """Each operation of `description` with its path as a pattern naming the path parameters."""
    operations = []
    for path, methods in description["paths"].items():
        pattern = re.compile(
            "^" + re.sub(r"\\\{([A-Za-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
        )
        for method, operation in methods.items():
            operations.append((method.upper(), pattern, operation))
    return operations


def find_operation(
    operations: Operations, method: str, path: str
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The operation that `method` on `path` is, and its path parameters (None: no operation)."""
    for operation_method, pattern, operation in operations:
        match = pattern.match(path)
        if operation_method == method and match:
            return operation, match.groupdict()
    return None


def typed(value: str, schema: dict[str, Any]) -> Any:
    """A query or path value as its schema's type reads it (left as text when it does not)."""
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def schema_errors(
    schema: dict[str, Any], instance: Any, components: dict[str, Any] | None = None
) -> list[str]:
    """What `schema` refuses in `instance`, a line each; `components` resolve its `$ref`s."""
    root = schema if components is None else {**schema, "components": components}
    validator = OAS30Validator(root, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
        for e in validator.iter_errors(instance)
    ]
