"""One transaction per request, owned here: the only place an API request commits.

Every `/v1` view runs inside `unit_of_work`. A write (POST, PUT, PATCH, DELETE): the
idempotency claim, the view's work (services flush, never commit) and the stored idempotency
response commit together when the answer is a success, and are rolled back otherwise. A
transaction that meets a deadlock, a serialisation failure or a concurrent insert of the same
row is retried from the start a few times; if it still fails, the answer is 409
`concurrent-update` with `Retry-After`.

A read (GET, HEAD, OPTIONS) writes nothing, ever: what time changes (a waiver that lapsed)
is computed as it is read, and recorded by the worker or the next write; the key's use is
noted in memory (`app.http.key_use`). On PostgreSQL a read runs in autocommit
(`app.http.connection`), one round trip a statement; it ends with a rollback, which is all a
read needs, and a read that left changes in its session is a bug, refused before it answers.

A view that finds its pooled connection closed by the database is run again on a new one,
unless the connection was lost while committing (a commit whose outcome is unknown is a 503,
never run twice).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request

from app.errors import ConcurrentUpdate, is_transient
from app.extensions import current_session, db
from app.http import idempotency
from app.http.connection import SAFE_METHODS, begin_request, end_autocommit, lost_connection
from app.services.context import Context

ATTEMPTS = 4
# Back-off before attempt n (n >= 2): up to BACKOFF_SECONDS * 2**(n-2), with full jitter.
BACKOFF_SECONDS = 0.02


def current_context() -> Context:
    """The context services record this request's events with."""
    person_id = g.get("api_key_person_id")
    return Context(
        actor=f"api_key:{g.api_key_id}",
        request_id=g.get("request_id"),
        settings=current_app.config["SETTINGS"],
        person_id=person_id,
        signed_with=g.api_key_id if person_id is not None else None,
    )


# `session.info` flag: the attempt is committing (a connection lost now is not retried).
_COMMITTING = "unit_of_work_committing"


def unit_of_work(view: Callable[..., Any]) -> Callable[..., Response]:
    """Run `view` as the request's one transaction, retried when concurrency defeats it."""

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Response:
        begin_request()  # if authentication did not read already (a key from the cache)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _attempt(view, args, kwargs)
            except Exception as error:
                committing = db.session.info.get(_COMMITTING, False)
                _end_attempt()
                if lost_connection(error) and not committing and attempt < ATTEMPTS:
                    continue  # a new connection; the pool has retired the closed ones
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


def _end_attempt() -> None:
    """Roll the attempt back; another attempt runs as a transaction (its connection is
    checked out again, at the engine's isolation level)."""
    db.session.rollback()
    end_autocommit(current_session())


def _attempt(view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Response:
    session = current_session()
    session.info[_COMMITTING] = False
    if request.method in SAFE_METHODS:
        response = current_app.make_response(view(*args, **kwargs))
        if session.new or session.dirty or session.deleted:
            raise RuntimeError(f"A {request.method} changed data: reads never write.")
        session.rollback()
        return response
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
    session.info[_COMMITTING] = True
    session.commit()
    return response
