"""Unbound extensions, bound to the application in `create_app()`."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
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


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys only when asked, per connection; WAL lets readers run
    beside the writer (the API and the worker share the file). The driver is told not to
    begin transactions itself: `_sqlite_begin` does, the way each transaction needs."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    """A write transaction takes SQLite's write lock at its start (`BEGIN IMMEDIATE`): it waits
    for the writer before it rather than reading first and then failing to upgrade, and
    everything it reads is as committed by that writer. Reads begin deferred, and run beside
    the writer. (The counterpart of the row locks `app.services.locks` takes on PostgreSQL.)"""
    if connection.dialect.name != "sqlite":
        return
    reading = has_request_context() and request.method in _READ_METHODS
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
