"""ETags, one mechanism for every resource: `If-None-Match` gives 304, a stale `If-Match` 412.

A write that honours `If-Match` says so with `@honours_if_match(blp)`: that documents the
header and the 412 on its operation, and holds the view to calling `check_if_match` with the
resource whose ETag guards it; `check_if_match` in a view that does not say so is refused. The
description and the behaviour come from the one declaration, so they cannot drift apart.

An ETag is `make_etag(*parts)`: a digest of what the representation depends on. A row's
parts are its id and version (`etag_of`), a rendered checklist's its state, format, filters,
layout and day, the catalog's its version. A view that can tell the ETag before building the
answer calls `not_modified(etag)` and returns its 304 at once; any other GET that sends an
`ETag` is answered 304 by `conditional_get` (the v1 blueprint's after-request hook) when the
client already holds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, request

from app.errors import PreconditionFailed


def make_etag(*parts: object) -> str:
    """An opaque strong validator of a representation that depends on `parts` (values whose
    `repr` is stable: strings, numbers, dates, tuples of them)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def etag_of(resource: Any, *also: object) -> str:
    """The ETag of a versioned row: it changes whenever the row's version does, and with
    `also`, what else its representation depends on (a waiver lapsed since it was written)."""
    return make_etag(resource.id, resource.version, *also)


def etag_header(resource: Any, *also: object) -> dict[str, str]:
    return {"ETag": f'"{etag_of(resource, *also)}"'}


View = TypeVar("View", bound=Callable[..., Any])

# `g.if_match_state`: whether the running view honours If-Match, and whether it has checked it yet.
_UNCHECKED, _CHECKED = "unchecked", "checked"


def honours_if_match(blueprint: Any) -> Callable[[View], View]:
    """Declare that a view honours `If-Match`: its operation documents the 412 (and so the
    header, see `app.http.openapi`), and the view must call `check_if_match` before it answers;
    one that returns without having checked is a bug, and fails before its transaction
    commits."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            g.if_match_state = _UNCHECKED
            result = view(*args, **kwargs)
            if g.pop("if_match_state", None) != _CHECKED:
                raise RuntimeError(f"{view.__qualname__} honours If-Match but never checked it.")
            return result

        return blueprint.alt_response(412, response="PRECONDITION_FAILED")(guarded)

    return decorate


def check_if_match(resource: Any, *also: object) -> None:
    """Refuse a write whose `If-Match` names another version than the current one (`also` as
    `etag_of` takes it); only in a view declared `@honours_if_match`, whose description says
    so."""
    if g.get("if_match_state") is None:
        raise RuntimeError("check_if_match in a view not declared @honours_if_match.")
    g.if_match_state = _CHECKED
    if_match = request.if_match
    if not if_match or if_match.star_tag:
        return
    if not if_match.contains(etag_of(resource, *also)):
        raise PreconditionFailed(
            "The resource has changed since you read it (If-Match does not match its ETag); "
            "read it again and retry."
        )


def not_modified(etag: str, *, vary: str | None = None) -> Response | None:
    """A 304 when the client already holds the representation whose ETag is `etag`."""
    if request.if_none_match and request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
        response.set_etag(etag)
        if vary:
            response.vary.add(vary)
        return response
    return None


def conditional_get(response: Response) -> Response:
    """Turn a 200 GET whose ETag the client already holds into a 304."""
    if request.method in ("GET", "HEAD") and response.status_code == 200 and response.get_etag()[0]:
        response.make_conditional(request)  # in place: it answers the same object
    return response
