"""One transaction per request, owned here: the only place an API request commits.

Every `/v1` view runs inside `unit_of_work`: the idempotency claim, the view's work (services
flush, never commit), the stored idempotency response and the API key's `last_used_at` commit
together when the answer is a success, and are rolled back otherwise. A transaction that meets
a deadlock, a serialisation failure or a concurrent insert of the same row is retried from the
start a few times; if it still fails, the answer is 409 `concurrent-update` with `Retry-After`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Response, current_app, g

from app.errors import ConcurrentUpdate, is_transient
from app.extensions import db
from app.http import idempotency
from app.http.auth import note_key_use
from app.services.context import Context

ATTEMPTS = 4
# Back-off before attempt n (n >= 2): up to BACKOFF_SECONDS * 2**(n-2), with full jitter.
BACKOFF_SECONDS = 0.02


def current_context() -> Context:
    """The context services record this request's events with."""
    return Context(
        actor=f"api_key:{g.api_key_id}",
        request_id=g.get("request_id"),
        settings=current_app.config["SETTINGS"],
    )


def unit_of_work(view: Callable[..., Any]) -> Callable[..., Response]:
    """Run `view` as the request's one transaction, retried when concurrency defeats it."""

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Response:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _attempt(view, args, kwargs)
            except Exception as error:
                db.session.rollback()
                if not is_transient(error):
                    raise
                if attempt == ATTEMPTS:
                    if isinstance(error, ConcurrentUpdate):
                        raise
                    raise ConcurrentUpdate(
                        "Other requests changed the same data at the same time; retry the request."
                    ) from error
                time.sleep(random.uniform(0, BACKOFF_SECONDS * 2 ** (attempt - 1)))  # noqa: S311
        raise AssertionError("unreachable")  # pragma: no cover

    return run


def _attempt(view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Response:
    session = db.session
    settings = current_app.config["SETTINGS"]
    ttl = timedelta(seconds=settings.idempotency_ttl_seconds)
    # Requests authenticated by API key may carry an Idempotency-Key (inbound webhooks
    # have no key, and their own delivery ids).
    if "team_id" in g and (replay := idempotency.claim(session, g.team_id, ttl)) is not None:
        session.rollback()
        return replay
    response = current_app.make_response(view(*args, **kwargs))
    if response.status_code >= 400:
        session.rollback()
        return response
    idempotency.store(session, response)
    if g.get("key_use_stale") and "api_key_id" in g:
        note_key_use(session, g.api_key_id)
    session.commit()
    return response
