"""The v1 blueprint factory: every `/v1` route gets auth, scopes and idempotency from here."""

from __future__ import annotations

from functools import wraps
from typing import Any

import flask
import marshmallow as ma
from flask import Response, g
from flask.views import MethodView
from flask_limiter.errors import RateLimitExceeded
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from app.errors import WHOLE_PART, Unauthorized, ValidationFailed
from app.extensions import current_session
from app.http.auth import authenticate, authorize, confirm
from app.http.etags import conditional_get
from app.http.rate_limits import limit_v1_request, seen_generation
from app.http.strict_query import strict_query
from app.http.transaction import unit_of_work
from app.services.catalog.keys import validating_against
from app.services.catalog.store import current_catalog


class CheckedJsonParser(FlaskParser):
    """Takes the JSON body the request check already decoded and vetted (`g.json_body`), and
    checks catalog keys against the current catalog with the other fields (`InCatalog`).

    A request without a query string gets, for a query schema, what loading nothing gave the
    first time (`_EMPTY_QUERIES`), where that is the same for every request: the hot reads
    (a checklist's 304, its JSON) carry no query and skipped the whole of webargs' parse."""

    def parse(self, argmap: Any, *args: Any, **kwargs: Any) -> Any:
        empty = (
            kwargs.get("location") == "query"
            and not flask.request.query_string
            and not args
            and not kwargs.get("validate")
            and isinstance(argmap, ma.Schema)
        )
        if empty and (loaded := _EMPTY_QUERIES.get(argmap)) is not None:
            return dict(loaded)
        with validating_against(lambda: current_catalog(current_session())):
            parsed = super().parse(argmap, *args, **kwargs)
        if empty and _loads_nothing_the_same(argmap, parsed):
            _EMPTY_QUERIES[argmap] = dict(parsed)
        return parsed

    def _raw_load_json(self, req: flask.Request) -> Any:
        if "json_body" in g:
            return g.json_body
        return super()._raw_load_json(req)


# A query schema (an instance, made once per view: `V1Blueprint.arguments`) -> what it loads
# from an empty query string, kept where that cannot differ from one request to the next.
_EMPTY_QUERIES: dict[ma.Schema, dict[str, Any]] = {}
_IMMUTABLE = (str, int, float, bool, type(None), tuple, frozenset)


def _loads_nothing_the_same(schema: ma.Schema, loaded: Any) -> bool:
    """Whether `loaded` (what `schema` loaded from nothing) is what it loads from nothing in
    every request: no hook that could read the request, no default made by a call, a plain
    dict of values that cannot be changed (each caller gets a copy of the dict)."""
    if any(schema._hooks.values()):
        return False
    if any(callable(field.load_default) for field in schema.fields.values()):
        return False
    return type(loaded) is dict and all(isinstance(v, _IMMUTABLE) for v in loaded.values())


class V1Blueprint(Blueprint):
    """Every view of it runs as the request's one transaction (`unit_of_work`), refuses the
    query parameters its operation does not declare (`strict_query`), and requires a body
    documented as required."""

    ARGUMENTS_PARSER = CheckedJsonParser()

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Any:
        """flask-smorest's `arguments`, which only documents a body as required (its default):
        a request without one would be parsed as `{}`, and a PATCH without a body answered
        200. Here it is refused, 422 naming the body, as the description says.

        A schema class is made an instance here, once: webargs would otherwise build one per
        request (marshmallow copies every declared field to do it)."""
        if isinstance(schema, type):
            schema = schema()
        decorate = super().arguments(schema, location=location, **kwargs)
        if location != "json" or not kwargs.get("required", True):
            return decorate

        def decorator(view: Any) -> Any:
            parsed = decorate(view)

            @wraps(parsed)
            def refuse_no_body(*args: Any, **kw: Any) -> Any:
                # The request check keeps every JSON body it read (`null` included).
                if "json_body" not in g:
                    raise ValidationFailed(
                        "The request needs a JSON body.",
                        errors={WHOLE_PART["json"]: ["A JSON body is required."]},
                    )
                return parsed(*args, **kw)

            return refuse_no_body

        return decorator

    def add_url_rule(
        self, rule: str, endpoint: str | None = None, view_func: Any = None, *args: Any, **kw: Any
    ) -> None:
        # The query check is the outer decorator: a refused request opens no transaction.
        if isinstance(view_func, type) and issubclass(view_func, MethodView):
            view_class = view_func
            strict = strict_query(lambda method: getattr(view_class, method.lower(), None))
            view_func.decorators = [*view_func.decorators, unit_of_work, strict]
        elif view_func is not None:
            function = view_func
            view_func = strict_query(lambda _method: function)(unit_of_work(view_func))
        super().add_url_rule(rule, endpoint, view_func, *args, **kw)


def v1_blueprint(
    name: str,
    import_name: str,
    description: str,
    *,
    write_scope: str = "write",
    read_scope: str = "read",
) -> Blueprint:
    """A blueprint under `/v1` whose requests are authenticated by API key.

    GET needs `read_scope` (`read`); other methods need `write_scope`. Each view is one
    transaction, with the `Idempotency-Key` of a POST. GETs answer 304 when the client's ETag
    is current.
    """
    blp = V1Blueprint(name, import_name, url_prefix="/v1", description=description)

    @blp.before_request
    def _authorize() -> Response | None:
        # The key (perhaps from the cache), then its budget, whose hit reads the key
        # generation with it: a cached key of an older generation is looked up again.
        # A key refused for a missing scope (403) still spends its budget. No connection is
        # opened here: the key's lookup opens it if it reads, else the view
        # (`app.http.connection`).
        try:
            key = authenticate()
            try:
                generation = limit_v1_request(key.id)
            except RateLimitExceeded:
                confirm(key, seen_generation())  # a revoked key is a 401, not a 429
                raise
            key = confirm(key, generation)
        except Unauthorized:
            limit_v1_request(None)
            raise
        authorize(key, write_scope, read_scope)
        return None

    @blp.after_request
    def _finish(response: Response) -> Response:
        return conditional_get(response)

    return blp
