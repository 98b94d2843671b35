"""One transaction per request, owned here: the only place an API request commits.

Every `/v1` view runs inside `unit_of_work`: the idempotency claim, the view's work (services
flush, never commit), the stored idempotency response and the API key's `last_used_at` commit
together when the answer is a success, and are rolled back otherwise. A success that wrote
nothing (a read: no flush with changes, no write statement, no idempotency record, no key-use
note) ends with a rollback too, which is all a read needs. Writes are seen through the session,
its flushes and the statements it executes; one run on `session.connection()` directly is not,
so services write through the session. A transaction that meets a deadlock, a serialisation
failure or a concurrent insert of the same row is retried from the start a few times; if it
still fails, the answer is 409 `concurrent-update` with `Retry-After`.

A safe-method request on PostgreSQL reads in autocommit until it would write
(`app.http.connection`): the view is then stopped before its first write (a flush with changes,
a write statement, or a locking `SELECT … FOR UPDATE`) and run again from the start as a
transaction, so its changes and their events still commit together or not at all. Only the
key's last-use note, one `UPDATE` after the view, runs as a statement of its own in such a
request. A view that finds its pooled connection closed by the database is run again on a new
one, unless the connection was lost while committing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Response, current_app, g
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.errors import ConcurrentUpdate, is_transient
from app.extensions import db
from app.http import idempotency
from app.http.auth import key_use_noted, note_key_use
from app.http.connection import end_autocommit, lost_connection, reads_in_autocommit
from app.models import utcnow
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


# `session.info` flags: the view is running in autocommit (a write now would not be part of
# a transaction); the attempt is committing.
_READING = "unit_of_work_reading"
_COMMITTING = "unit_of_work_committing"


class WriteInRead(Exception):
    """A request reading in autocommit was about to write: it runs again as a transaction."""


def unit_of_work(view: Callable[..., Any]) -> Callable[..., Response]:
    """Run `view` as the request's one transaction, retried when concurrency defeats it."""

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Response:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _attempt(view, args, kwargs)
            except WriteInRead:
                # Not a failure: the same request again, as a transaction from its start (only
                # a first attempt reads in autocommit, so this happens once).
                _end_attempt()
                continue
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
    end_autocommit(db.session)


# `session.info` flag: this transaction wrote something (set by the listeners below).
_WROTE = "unit_of_work_wrote"


def _flushed(session: Session, _flush_context: UOWTransaction) -> None:
    session.info[_WROTE] = True  # only a flush with something to write gets here


def _flushing(session: Session, _flush_context: UOWTransaction, _instances: Any) -> None:
    if session.info.get(_READING) and (session.new or session.dirty or session.deleted):
        raise WriteInRead


def _executed(state: ORMExecuteState) -> None:
    # INSERT, UPDATE, DELETE, or text() we cannot tell: a write. A locking read announces one.
    if state.is_select:
        if state.session.info.get(_READING) and _locks(state.statement):
            raise WriteInRead
        return
    if state.session.info.get(_READING):
        raise WriteInRead
    state.session.info[_WROTE] = True


def _locks(statement: Any) -> bool:
    return getattr(statement, "_for_update_arg", None) is not None


def _track_writes() -> None:
    if not event.contains(Session, "after_flush", _flushed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "before_flush", _flushing)
        event.listen(Session, "do_orm_execute", _executed)


_track_writes()


def _wrote(session: Session) -> bool:
    """Whether this transaction has written anything, or has changes waiting for a flush."""
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def _attempt(view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Response:
    session = db.session
    session.info[_WROTE] = False
    session.info[_COMMITTING] = False
    settings = current_app.config["SETTINGS"]
    ttl = timedelta(seconds=settings.idempotency_ttl_seconds)
    # Requests authenticated by API key may carry an Idempotency-Key (inbound webhooks
    # have no key, and their own delivery ids).
    if "team_id" in g and (replay := idempotency.claim(session, g.team_id, ttl)) is not None:
        session.rollback()
        return replay
    session.info[_READING] = reads_in_autocommit(session)
    try:
        response = current_app.make_response(view(*args, **kwargs))
    finally:
        session.info[_READING] = False
    if response.status_code >= 400:
        session.rollback()
        return response
    idempotency.store(session, response)
    wrote = _wrote(session)
    noted_at = None
    if g.get("key_use_stale") and "api_key_id" in g:
        noted_at = utcnow()
        wrote = note_key_use(session, g.api_key_id) or wrote
    if wrote:
        session.info[_COMMITTING] = True
        session.commit()
    else:
        session.rollback()
    if noted_at is not None:
        # Written now, or found written by another request within the last minute.
        key_use_noted(noted_at)
    return response
