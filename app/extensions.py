"""Unbound extensions, bound to the application in `create_app()`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.http.problems import ProblemApi
from app.models.base import Base

db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})
migrate = Migrate(compare_type=True, render_as_batch=True)
api = ProblemApi()


def current_session() -> Session:
    """The session of the current application context (a request's, a command's), typed as
    the `Session` the services take. `db.session` is a `scoped_session` proxy; calling it
    gives the very object the proxy forwards to in this context, so handing this on is
    handing on the same session and the same transaction."""
    return db.session()


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An execution option: the connection's transactions only read (on SQLite, they begin
# deferred and take no write lock).
READS_ONLY = "reads_only"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys only when asked, per connection; WAL lets readers run
    beside the writer (the API and the worker share the file); `lower()` folds every letter.
    The driver is told not to begin transactions itself: `_sqlite_begin` does, the way each
    transaction needs."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        dbapi_connection.isolation_level = None
        # SQLite's own lower() folds ASCII only: `Ñ` stayed `Ñ`, and a case-blind search
        # (an erasure's) missed `Ñúñez` written `ÑÚÑEZ`. PostgreSQL's folds every letter.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    """A write transaction takes SQLite's write lock at its start (`BEGIN IMMEDIATE`): it waits
    for the writer before it rather than reading first and then failing to upgrade, and
    everything it reads is as committed by that writer. Reads begin deferred, and run beside
    the writer: a request's read, or a connection opened with the execution option
    `READS_ONLY` (a stream read after its request, a command that only reads). (The
    counterpart of the row locks `app.services.locks` takes on PostgreSQL.)"""
    if connection.dialect.name != "sqlite":
        return
    reading = connection.get_execution_options().get(READS_ONLY, False) or (
        has_request_context() and request.method in _READ_METHODS
    )
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection of its own reading one snapshot until it is closed: a read-only
    repeatable-read transaction on PostgreSQL; on SQLite a deferred transaction, which sees one
    state of the file (WAL) from its first read and takes no write lock, so writers go on."""
    with engine.connect() as connection:
        connection = connection.execution_options(**{READS_ONLY: True})
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin() as transaction:
            yield connection
            transaction.rollback()
