"""Request ids, JSON-only bodies and access logging for every request."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from app.errors import problem_response

log = logging.getLogger("app.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _start() -> Response | None:
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(12)
    has_body = bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", ""
    )
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        # No resource or filter holds a NUL character, and PostgreSQL cannot even compare one.
        return problem_response(
            400, "Bad request", "The URL contains a NUL character.", slug="bad-request"
        )
    if (
        request.method not in _BODY_METHODS
        or not has_body
        or getattr(request.url_rule, "accepts_any_body", False)
    ):
        return None
    if not _is_json(request.mimetype):
        return problem_response(
            415,
            "Unsupported media type",
            f"Send the body as application/json, not {request.mimetype or 'no content type'}.",
            slug="unsupported-media-type",
        )
    if not _parses_as_json(request.get_data(cache=True)):
        return problem_response(
            400, "Malformed JSON", "The request body is not valid JSON.", slug="malformed-json"
        )
    return None


def _parses_as_json(body: bytes) -> bool:
    """Whether the body is JSON that Python can load: the body parser only reports syntax
    errors, not nesting too deep to decode or integers too long to convert, which raise."""
    try:
        json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return True


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    log.info(
        "%s %s %s %.1fms request_id=%s",
        request.method,
        request.path,
        response.status_code,
        elapsed_ms,
        g.get("request_id"),
    )
    return response


def init_request_context(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
