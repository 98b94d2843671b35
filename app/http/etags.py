"""ETags from row versions: `If-None-Match` gives 304, a stale `If-Match` gives 412."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, request

from app.errors import PreconditionFailed


def etag_of(resource: Any) -> str:
    """An opaque strong validator that changes whenever the row's version does."""
    digest = hashlib.sha256(f"{resource.id}:{resource.version}".encode()).hexdigest()
    return digest[:32]


def etag_header(resource: Any) -> dict[str, str]:
    return {"ETag": f'"{etag_of(resource)}"'}


def check_if_match(resource: Any) -> None:
    """Refuse a write whose `If-Match` names another version than the current one."""
    if_match = request.if_match
    if not if_match or if_match.star_tag:
        return
    if not if_match.contains(etag_of(resource)):
        raise PreconditionFailed(
            "The resource has changed since you read it (If-Match does not match its ETag); "
            "read it again and retry."
        )


def conditional_get(response: Response) -> Response:
    """Turn a 200 GET whose ETag the client already holds into a 304."""
    if request.method in ("GET", "HEAD") and response.status_code == 200 and response.get_etag()[0]:
        return response.make_conditional(request)
    return response
