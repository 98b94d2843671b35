"""Strict query strings: a parameter an operation does not declare is a 422 naming it.

webargs ignores unknown query parameters, and reads a parameter given twice as its first
value: a misspelt filter (`?emial=`) answered with everything, unfiltered. Every `/v1`
operation is wrapped (`strict_query`, by `V1Blueprint`) with a check of the query string
against the query arguments it declares (`@blp.arguments(..., location="query")`, the lists'
filters, `limit` and `cursor`), before its body is read or its transaction begins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import request
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from app.errors import ValidationFailed

UNKNOWN = "Unknown query parameter."
REPEATED = "Given more than once; this parameter takes one value."


def _query_schemas(view: Callable[..., Any] | None) -> list[Any]:
    """What `view` declared for the query: schema classes, instances, or callables giving one
    for the request (webargs' forms)."""
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return [p["schema"] for p in parameters if isinstance(p, dict) and p.get("in") == "query"]


def _instance(schema: Any) -> ma.Schema:
    if isinstance(schema, ma.Schema):
        return schema
    if isinstance(schema, type):
        return schema()
    return schema(request)  # a callable of the request (the lists' `ListArgs`)


# What each declared schema takes: the same for every request, so worked out once (the
# declarations live as long as the views).
_TAKEN: dict[Any, tuple[frozenset[str], frozenset[str]]] = {}


def _taken(schema: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the parameters a declared schema takes, and those taking several values."""
    if schema not in _TAKEN:
        instance = _instance(schema)
        names = frozenset(field.data_key or name for name, field in instance.fields.items())
        multiple = frozenset(MultiDictProxy(MultiDict(), instance).multiple_keys)
        _TAKEN[schema] = (names, multiple)
    return _TAKEN[schema]


def query_errors(declared: Iterable[Any]) -> dict[str, list[str]]:
    """The request's query parameters that the `declared` schemas do not take, and those of
    theirs given more than once though they take one value."""
    taken = [_taken(schema) for schema in declared]
    names = frozenset().union(*(names for names, _ in taken))
    multiple = frozenset().union(*(several for _, several in taken))
    errors: dict[str, list[str]] = {}
    for name, values in request.args.lists():
        if name not in names:
            errors[name] = [UNKNOWN]
        elif len(values) > 1 and name not in multiple:
            errors[name] = [REPEATED]
    return errors


def strict_query(
    view_of: Callable[[str], Callable[..., Any] | None],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator for a route's view: 422 naming each query parameter that the operation
    (the method's view, `view_of(method)`) does not declare, or repeats."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if request.args:
                # HEAD is answered by the GET view.
                method = "GET" if request.method == "HEAD" else request.method
                if errors := query_errors(_query_schemas(view_of(method))):
                    raise ValidationFailed(
                        f"Query parameters not taken here: {', '.join(sorted(errors))}.",
                        errors=errors,
                    )
            return view(*args, **kwargs)

        return checked

    return decorator
