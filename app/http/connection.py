"""The request's database connection: how a request opens it, and opens it again.

**Opened when first needed.** A request opens its session and connection just before its
first read (`begin_request`: the key's lookup when the key is not cached, or the view), not
when it starts: a request answered before any read (a key from the cache past its budget, a
malformed `Authorization`, a missing scope, a refused query) takes no connection from the
pool.

**Reads in autocommit.** On PostgreSQL a request of a safe method (GET, HEAD, OPTIONS) runs
in autocommit (`begin_request`, before the first statement reads anything): each statement is then
one round trip, with no `BEGIN` before it and no `ROLLBACK` after. A read loses nothing by
it: under READ COMMITTED, PostgreSQL's level and ours, every statement of a transaction takes
its own snapshot anyway, and a read never writes (`app.http.transaction`). SQLite keeps a
transaction per read: a read costs it no round trip, and there a transaction does hold one
snapshot for all its statements.

**No ping before lending.** The pool lends a connection without pinging it first
(`pool_pre_ping` would cost a round trip on every request). A connection the database closed
meanwhile (a restart, a failover, a proxy's idle timeout) is found by the first statement that
uses it; SQLAlchemy then retires every connection the pool made before it, and the request's
step that found it runs again on a new one: `unit_of_work` retries the view (unless it was
committing: a commit whose outcome is unknown is a 503, never run twice), and `reconnecting`
retries a read before the view (the key's lookup).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# `session.info` flags: this request reads in autocommit; its connection has been begun.
_AUTOCOMMIT = "request_autocommit"
_BEGUN = "request_begun"

T = TypeVar("T")


def begin_request() -> None:
    """Open the request's connection, unless it is open already: in autocommit for a safe
    method on PostgreSQL. Called before anything of the request reads."""
    session = db.session
    if session.info.get(_BEGUN):
        return
    autocommit = request.method in SAFE_METHODS and db.engine.dialect.name == "postgresql"
    session.info[_AUTOCOMMIT] = autocommit
    session.info[_BEGUN] = True
    if autocommit:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def end_autocommit(session: Session) -> None:
    """After a rollback: the next statement begins a transaction at the engine's level."""
    session.info[_AUTOCOMMIT] = False


def lost_connection(error: BaseException) -> bool:
    """The database closed the connection `error` came from: its transaction is gone, and the
    pool has retired the connections made before it."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


def reconnecting(step: Callable[[], T]) -> T:
    """Run `step`, a read before the view, once more on a new connection when the one it used
    was closed by the database."""
    try:
        return step()
    except DBAPIError as error:
        if not lost_connection(error):
            raise
        db.session.rollback()
        db.session.info.pop(_BEGUN, None)  # opened again, as it was
        begin_request()
        return step()
