"""Request ids, JSON-only bodies and access logging for every request."""

from __future__ import annotations

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
    if (
        request.method in _BODY_METHODS
        and has_body
        and not _is_json(request.mimetype)
        and not getattr(request.url_rule, "accepts_any_body", False)
    ):
        return problem_response(
            415,
            "Unsupported media type",
            f"Send the body as application/json, not {request.mimetype or 'no content type'}.",
            slug="unsupported-media-type",
        )
    return None


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
