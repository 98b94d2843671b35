"""Request ids, the body limit, JSON-only bodies and access logging for every request."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import IO, Any, cast

import flask
from flask import Flask, Response, g, request
from sqlalchemy import inspect as sa_inspect
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from app.http.problems import problem_response

log = logging.getLogger("app.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


# What is left of a body over the limit is read and dropped, up to this much, before the 413
# goes out: a server that closes its socket with bytes unread resets the connection, and a
# client still sending its body then gets the reset instead of the answer.
DRAIN_BYTES = 1024 * 1024


class _MaxBodyStream(LimitedStream):
    """A body whose end the server marks, read up to at most `limit` bytes: 413 past them.

    werkzeug's own maximum (`LimitedStream(..., is_max=True)`) stops at the limit without a
    word: `read()` returns the first `limit` bytes of a longer body, and only a read after
    that raises. A chunked body over the limit was thus cut and accepted. This one, having
    reached the limit, looks one byte further: 413 if the body goes on, its end if not.
    """

    def on_exhausted(self) -> None:
        try:
            more = self._stream.read(1)
        except (OSError, ValueError) as exc:
            raise ClientDisconnected() from exc
        if more:
            self._drain()
            raise RequestEntityTooLarge()

    def _drain(self) -> None:
        left = DRAIN_BYTES
        try:
            while left > 0 and (chunk := self._stream.read(min(64 * 1024, left))):
                left -= len(chunk)
        except (OSError, ValueError):
            return  # the client went: nobody is left to read the answer

    def readall(self) -> bytes:
        data = super().readall()  # ends at the end of the body or at the limit
        if self.is_exhausted:
            self.on_exhausted()
        return data


class Request(flask.Request):
    """Flask's request, whose body stream holds `max_content_length` however it is framed."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        # Without `wsgi.input_terminated` werkzeug reads a body only up to its Content-Length
        # (a body without one reads empty: nothing to cut); a server that sets it (gunicorn,
        # werkzeug's for chunked bodies) ends the stream itself, and the limit is ours to hold.
        if self.shallow or limit is None or "wsgi.input_terminated" not in self.environ:
            return super().stream
        if self.content_length is not None and self.content_length > limit:
            raise RequestEntityTooLarge()
        return cast(IO[bytes], _MaxBodyStream(self.environ["wsgi.input"], limit, is_max=True))


def request_id_for(incoming: str) -> str:
    """The request's id: the client's `X-Request-ID` when it is a plain token, else a new one."""
    # fullmatch: `$` would let a trailing newline through.
    return incoming if _REQUEST_ID.fullmatch(incoming) else secrets.token_hex(12)


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def _start() -> Response | None:
    g.started = time.perf_counter()
    g.request_id = request_id_for(request.headers.get("X-Request-ID", ""))
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
    # Read (and keep) the body first, whatever its type: past the limit, the stream raises
    # RequestEntityTooLarge, a 413, before anything else looks at the request.
    body = request.get_data(cache=True)
    if not _is_json(request.mimetype):
        return problem_response(
            415,
            "Unsupported media type",
            f"Send the body as application/json, not {request.mimetype or 'no content type'}.",
            slug="unsupported-media-type",
        )
    return _check_json_body(body)


def _check_json_body(body: bytes) -> Response | None:
    """Refuse, before any view runs, JSON the rest of the stack cannot take safely.

    The body parser reports syntax errors only; nesting too deep to decode and integers too
    long to convert would raise. Strings holding NUL (PostgreSQL cannot store it) or a lone
    surrogate (not Unicode, so no database can store it) are refused naming the field, in
    marshmallow's shape: `{"handles": {"jira": [...]}}`.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return problem_response(
            400, "Malformed JSON", "The request body is not valid JSON.", slug="malformed-json"
        )
    errors = _unstorable_strings(data)
    if errors:
        return problem_response(
            422,
            "Validation failed",
            "Some strings hold characters that cannot be stored.",
            slug="validation-error",
            errors=errors,
        )
    # The arguments parser takes it from here rather than decoding the body a second time.
    g.json_body = data
    return None


def _unstorable_strings(data: Any) -> dict[str, Any]:
    """Where in `data` a string (or a key) holds NUL or a lone surrogate, as nested errors."""
    errors: dict[str, Any] = {}
    # An explicit stack: the document may be nested as deep as the decoder allows.
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem:
                    _put(errors, (*path, key.encode("utf-8", "replace").decode()), problem)
                else:
                    stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(value))
        elif isinstance(value, str) and (problem := _string_problem(value)):
            _put(errors, path or ("_body",), problem)
    return errors


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "Must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode (it holds a lone surrogate)."
    return None


def _put(errors: dict[str, Any], path: tuple[str, ...], message: str) -> None:
    node = errors
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return
        node = child
    node[path[-1]] = [message]


def _finish(response: Response) -> Response:
    request_id = g.get("request_id", "")
    response.headers["X-Request-ID"] = request_id
    rule = request.url_rule
    log_access(
        request.method,
        rule.rule if rule is not None else None,
        request.path,
        response.status_code,
        request_id=g.get("request_id"),
        team_id=_plain_id("team"),
        api_key_id=_plain_id("api_key"),
        started=g.get("started", None),
    )
    return response


def log_access(
    method: str,
    route: str | None,
    path: str,
    status: int,
    *,
    request_id: str | None,
    team_id: str | None,
    api_key_id: str | None,
    started: float | None,
) -> None:
    """The request's one access line (also written by `app.api.fast_reads`)."""
    now = time.perf_counter()
    elapsed_ms = (now - (now if started is None else started)) * 1000
    # One JSON line (see `app.http.logs.log_handler`): values are escaped, so nothing a client sends
    # (the raw path, which may hold a newline, or a header) can end it or add a field.
    log.info(
        "%s %s %s",
        method,
        route or "-",
        status,
        extra={
            "request_id": request_id,
            "team_id": team_id,
            "api_key_id": api_key_id,
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "latency_ms": round(elapsed_ms, 2),
        },
    )


def _plain_id(name: str) -> str | None:
    """The id of `g.<name>` (the team, the API key), if authentication got that far.

    Authentication stores the plain id as `g.<name>_id`; otherwise it is read from the
    object's identity, which needs no query even when a rollback has expired the object.
    """
    value = g.get(f"{name}_id")
    if value is None and (obj := g.get(name)) is not None:
        try:
            identity = sa_inspect(obj).identity
        except Exception:  # not a mapped object, or not one with an identity: no id to log
            identity = None
        value = identity[0] if identity else None
    return None if value is None else str(value)


def init_request_context(app: Flask) -> None:
    app.request_class = Request
    app.before_request(_start)
    app.after_request(_finish)
