"""A pooled connection that the database closed (a restart, a failover, an idle timeout
on the way) costs a request nothing: the pool does not ping a connection before lending it
(a round trip on every request), so the request that finds one closed is run again on a new
connection, wherever it found it: the key's lookup before the view, or the view itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from checklist_support import generate, staffed_project
from conftest import require_redis
from databases import POSTGRES_ADMIN_URL
from factories import person_body
from flask import Flask
from redis_dbs import KEY_CACHE_REDIS_URL
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.extensions import db


class Backends:
    """The server processes of an application's pooled connections, which a test can end as
    a restart of the database would."""

    def __init__(self, app: Flask) -> None:
        self.pids: list[int] = []
        with app.app_context():
            self.engine = db.engine
            self.database = make_url(str(self.engine.url)).database
        event.listen(self.engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        self.pids.append(dbapi_connection.info.backend_pid)

    def end_all(self) -> int:
        """End every connection the application opened so far; how many were still open."""
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, dbname=self.database) as admin:
            ended = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE pid = ANY(%s)",
                (self.pids,),
            ).fetchone()
        return int(ended[0]) if ended else 0


@pytest.fixture(params=["key looked up", "key cached"])
def other_app(request: pytest.FixtureRequest, app: Flask, app_with: Callable[..., Flask]) -> Flask:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a SQLite file has no connection to lose")
    if request.param == "key looked up":  # before the view: where the closed one is found
        return app_with(api_key_cache_seconds=0.0)
    # Keys are cached only with a shared store to hear revocations from: the view finds it.
    require_redis(KEY_CACHE_REDIS_URL)
    return app_with(rate_limit_storage_uri=KEY_CACHE_REDIS_URL, api_key_cache_seconds=60.0)


def test_requests_go_on_when_the_database_closed_their_pooled_connections(api, other_app):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    backends = Backends(other_app)
    client = other_app.test_client()
    headers = {"Authorization": f"Bearer {api.token}"}
    path = f"/v1/projects/{project['id']}/checklist"
    first = client.get(path, headers=headers)
    assert first.status_code == 200
    etag = first.headers["ETag"]

    requests = (
        lambda: client.get(path, headers={**headers, "If-None-Match": etag}),
        lambda: client.get(path + "?format=markdown", headers=headers),
        lambda: client.post("/v1/people", json=person_body(), headers=headers),
        lambda: client.get("/v1/catalog", headers=headers),
    )
    for send in requests:
        assert backends.end_all() >= 1, "the pool held an open connection to end"
        answer = send()
        assert answer.status_code in (200, 201, 304), answer.get_data(as_text=True)


def test_a_connection_lost_at_every_attempt_is_a_503_not_a_500(api, other_app):
    """Retries end: a database that closes every connection it is given is unavailable."""
    backends = Backends(other_app)
    client = other_app.test_client()
    headers = {"Authorization": f"Bearer {api.token}"}
    assert client.get("/v1/people", headers=headers).status_code == 200  # a key cached, or not

    @event.listens_for(backends.engine, "before_cursor_execute")
    def end_it(conn: Any, *_args: Any) -> None:
        backends.end_all()

    try:
        answer = client.get("/v1/people", headers=headers)
    finally:
        event.remove(backends.engine, "before_cursor_execute", end_it)
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.json["type"].endswith("database-unavailable")
