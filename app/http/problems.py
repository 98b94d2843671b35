"""Every failure answered as RFC 9457 problem+json: the domain's errors, Werkzeug's, the
database's, and anything unexpected (a 500 that says nothing of the server)."""

from __future__ import annotations

import http
import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Response, current_app, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound

from app.errors import WHOLE_PART, ConcurrentUpdate, Problem, flatten_errors, is_transient
from app.schemas.problems import ProblemSchema

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:problem-type:staffing-checklist:"


def _status_slug(status: int) -> str:
    return http.HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    """A problem+json response; `extensions` are extra members (RFC 9457 section 3.2)."""
    body: dict[str, Any] = {
        **(extensions or {}),
        # Every problem has a type of its own: by default the status' name, `not-found`.
        "type": PROBLEM_TYPE_BASE + (slug or _status_slug(status)),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = flatten_errors(errors)
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE
    )
    response.headers.update(headers or {})
    return response


def _webargs_errors(messages: Mapping[str, Any], schema: ma.Schema | None) -> dict[str, list[str]]:
    """webargs nests errors by location (`{"json": {"name": [...]}}`); clients want fields,
    in body, query and headers alike. A problem of a part as a whole (a body that is a list,
    not an object) is under `_body` (`_query`, `_headers`)."""
    errors: dict[str, list[str]] = {}
    for location, detail in messages.items():
        whole = WHOLE_PART.get(location, f"_{location}")
        part = detail if isinstance(detail, Mapping) else {"_schema": detail}
        for name, found in flatten_errors(part, schema).items():
            errors.setdefault(whole if name == WHOLE_PART["json"] else name, []).extend(found)
    return errors


def _summarise(errors: Mapping[str, Any]) -> str:
    fields = ", ".join(sorted(errors)) or "the request"
    return f"Invalid value for {fields}."


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    title = http.HTTPStatus(status).phrase
    if status == 422 and "messages" in data:
        errors = _webargs_errors(data["messages"], data.get("schema"))
        return problem_response(
            422, "Validation failed", _summarise(errors), slug="validation-error", errors=errors
        )
    if status == 400 and "messages" in data:
        return problem_response(
            400, "Malformed JSON", "The request body is not valid JSON.", slug="malformed-json"
        )
    if status == 429:
        detail = f"Too many requests (limit: {error.description}); retry later."
        return problem_response(429, title, detail, slug="rate-limited", headers=headers)
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = f"The request body is larger than the limit of {limit} bytes."
        return problem_response(413, title, detail, slug="body-too-large")
    if isinstance(error, RouteNotFound) and request.path.endswith("/") and request.path != "/":
        return problem_response(404, title, _trailing_slash_hint(request.path))
    if status >= 500:
        log.error("HTTP %s: %s", status, error.description)
        detail = "The server could not complete the request."
        return problem_response(status, title, detail, headers=headers)
    return problem_response(status, title, error.description or title, headers=headers)


def _trailing_slash_hint(path: str) -> str:
    """A 404's detail for a path with a trailing slash: no path of the API has one (no
    redirect either: a client gets this answer, not an HTML page)."""
    bare = path.rstrip("/") or "/"
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(bare, method=request.method)
    except HTTPException:
        return f"No resource at {path}."
    return f"No resource at {path}: paths have no trailing slash (try {bare})."


def handle_problem(error: Problem) -> Response:
    return problem_response(
        error.status,
        error.title,
        error.detail,
        slug=error.slug,
        errors=error.errors,
        headers=error.headers,
        extensions=error.extensions,
    )


def _rollback() -> None:
    try:
        # The app's Flask-SQLAlchemy (app.extensions imports this module: no import back).
        current_app.extensions["sqlalchemy"].session.rollback()
    except Exception:  # the connection may be gone; the next request gets a fresh one
        log.warning("rollback failed", exc_info=True)


def handle_integrity_error(error: IntegrityError) -> Response:
    _rollback()
    log.info("integrity conflict: %s", error.orig)
    return problem_response(
        409,
        "Conflict",
        "The change conflicts with existing data (a duplicate or a reference in use).",
        slug="conflict",
    )


def _concurrent_update() -> Response:
    return handle_problem(
        ConcurrentUpdate(
            "Other requests changed the same data at the same time; retry the request."
        )
    )


def handle_stale_data(error: StaleDataError) -> Response:
    _rollback()
    return _concurrent_update()


def handle_database_error(error: DBAPIError) -> Response:
    _rollback()
    if is_transient(error) and not isinstance(error, IntegrityError):
        log.info("concurrent update: %s", error.orig)
        return _concurrent_update()
    if isinstance(error, DataError):
        # Validation should have caught it; never a 500 for a value the client sent.
        log.warning("value refused by the database: %s", error.orig)
        return problem_response(
            422,
            "Validation failed",
            "A value is not one the database can store (too long, out of range or malformed).",
            slug="validation-error",
        )
    if isinstance(error, OperationalError) or error.connection_invalidated:
        log.error("database unavailable: %s", error.orig)
        return problem_response(
            503,
            "Service unavailable",
            "The database is unavailable; retry shortly.",
            slug="database-unavailable",
            headers={"Retry-After": "5"},
        )
    return handle_unexpected(error)


def handle_unexpected(error: Exception) -> Response:
    _rollback()
    log.exception("unhandled error", exc_info=error)
    return problem_response(
        500, "Internal server error", "The server could not complete the request."
    )


class ProblemApi(Api):
    """flask-smorest's Api, answering every failure as problem+json and documenting it."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        app = self._app
        app.register_error_handler(Problem, handle_problem)
        app.register_error_handler(HTTPException, handle_http_exception)
        app.register_error_handler(IntegrityError, handle_integrity_error)
        app.register_error_handler(StaleDataError, handle_stale_data)
        app.register_error_handler(DBAPIError, handle_database_error)
        app.register_error_handler(Exception, handle_unexpected)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)
