"""Fixtures: one application per database backend, its schema built by the migrations.

Every test that uses `app` (or `client`, `api`, ...) runs once on SQLite and once on
PostgreSQL. PostgreSQL is taken from `TEST_POSTGRES_URL` (default: the local server); when it
is unreachable its tests are skipped, unless `REQUIRE_POSTGRES=1` (as in CI), where they fail.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from databases import fresh_postgres_database
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import event, text
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings
from app.errors import NotFound
from app.extensions import db
from app.models import Base
from app.services.catalog.store import seed_catalog
from app.services.context import Context
from app.services.directory import teams
from app.services.migrations import MIGRATIONS_DIR
from seed.loader import load_catalog

REQUIRE_REDIS = os.environ.get("REQUIRE_REDIS") == "1"


def require_redis(url: str) -> None:
    """Skip the test when the Redis at `url` does not answer (fail it with REQUIRE_REDIS=1)."""
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but unreachable at {url}")
        pytest.skip(f"Redis unreachable at {url}")


TICKETS_KEY = Fernet.generate_key().decode("ascii")


def _build_app(database_url: str) -> Flask:
    # The suite (the contract fuzzing most) sends far more than a client would: the limit of
    # the shared apps is out of its way; tests/api/test_rate_limits.py builds its own.
    # The batch of API keys' last use is written once an interval, after whichever request
    # ends past it: in a shared app, inside some unrelated test that counts statements. Its
    # own tests (tests/api/test_read_transactions.py) shorten the interval themselves.
    settings = dataclasses.replace(
        Settings.from_env(),
        database_url=database_url,
        rate_limit="1000000 per minute",
        key_use_flush_seconds=24 * 3600,
        # Native tickets can be configured (a key of this run's own).
        tickets_encryption_key=TICKETS_KEY,
    )
    return create_app(settings, {"TESTING": True})


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """An application on a fresh database of one backend, migrated and seeded."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        database = _nullcontext(f"sqlite:///{path}")
    else:
        database = fresh_postgres_database()
    with database as url:
        app = _build_app(url)
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            seed_catalog(db.session, load_catalog())
            db.session.commit()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@contextmanager
def _nullcontext(value: str) -> Iterator[str]:
    yield value


@pytest.fixture
def app(backend_app: Flask) -> Iterator[Flask]:
    """The application for one test; every row the test wrote is gone afterwards."""
    yield backend_app
    with backend_app.app_context():
        db.session.remove()
        tables = [t for t in Base.metadata.sorted_tables if not t.name.startswith("catalog_")]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(text(f"TRUNCATE {names} CASCADE"))
            else:
                for table in reversed(tables):
                    connection.execute(table.delete())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class ApiClient:
    """A test client that sends one team's API key and JSON bodies."""

    def __init__(self, client: FlaskClient, token: str, team_id: str) -> None:
        self.client = client
        self.token = token
        self.team_id = team_id
        self._personal: dict[str, ApiClient] = {}

    def as_person(self, person_id: str) -> ApiClient:
        """A client of the same team holding a personal key of the person, made once through
        the API with this client's (admin) key: what it signs and approves is theirs."""
        if person_id not in self._personal:
            answer = self.post(f"/v1/people/{person_id}/keys", json={"name": "test"})
            assert answer.status_code == 201, answer.json
            self._personal[person_id] = ApiClient(self.client, answer.json["secret"], self.team_id)
        return self._personal[person_id]

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ):
        return self.client.open(path, method=method, headers=self._headers(headers), **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("PUT", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def make_api(app: Flask, client: FlaskClient) -> Callable[..., ApiClient]:
    """Make a team (unless given) and an API client holding a key of it with `scopes`."""

    def make(
        team: str = "Team A", scopes: tuple[str, ...] = ("read", "write", "admin")
    ) -> ApiClient:
        with app.app_context():
            ctx = Context("cli")
            try:
                found = teams.find_team(db.session, teams.slugify(team, "team"))
            except NotFound:
                found = teams.create_team(db.session, ctx, team)
            _, token = teams.create_key(db.session, ctx, found, scopes, "test")
            db.session.commit()
            return ApiClient(client, token, found.id)

    return make


@pytest.fixture
def api(make_api: Callable[..., ApiClient]) -> ApiClient:
    """A client of team A with every scope."""
    return make_api()


@pytest.fixture
def other_api(make_api: Callable[..., ApiClient]) -> ApiClient:
    """A client of another team, B, with every scope."""
    return make_api("Team B")


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        # Whether the connection ran each statement in autocommit (no transaction around it).
        self.in_autocommit: list[bool] = []

    @property
    def count(self) -> int:
        return len(self.statements)


def _in_autocommit(dbapi_connection: Any) -> bool:
    """No transaction around the next statement: psycopg in autocommit mode, or sqlite3 (whose
    `autocommit` attribute came with Python 3.12) outside a transaction."""
    autocommit = getattr(dbapi_connection, "autocommit", None)
    if isinstance(autocommit, bool):
        return autocommit
    return not dbapi_connection.in_transaction


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as counter:` records every SQL query the app runs."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        with app.app_context():
            engine = db.engine

        def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            # Transaction control is not a query (SQLite's BEGIN is sent as a statement;
            # PostgreSQL's driver begins implicitly).
            if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                counter.statements.append(statement)
                counter.in_autocommit.append(_in_autocommit(conn.connection.dbapi_connection))

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The application behind a real HTTP server on loopback (for clients that need a socket:
    a browser, a generated httpx client)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_with(app: Flask) -> Iterator[Callable[..., Flask]]:
    """Another application on the test's database, with other settings."""
    made: list[Flask] = []

    def make(**settings: object) -> Flask:
        changed = dataclasses.replace(app.config["SETTINGS"], **settings)
        made.append(create_app(changed, {"TESTING": True}))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()
    # flask-smorest's `Api` is one object: its spec is the last application's. Build one
    # with the suite's settings again, so that the spec the other tests read is theirs.
    create_app(app.config["SETTINGS"], {"TESTING": True})
