"""The fast path (`app/api/fast_reads.py`) answers `/healthz` and a checklist's plain JSON
reads (304, and the 200 already rendered) in front of Flask. Each of its answers must be
Flask's own: the same request is sent with `FAST_READS` on and off, Flask's first, and the
status, body and every header compared (the request id's value only when it was generated,
and `Date`, which the clock moves). Everything it does not answer reaches Flask untouched,
counted once against the key's budget whichever path answered it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from checklist_support import generate, staffed_project
from conftest import ApiClient, require_redis
from flask import Flask
from redis_dbs import KEY_CACHE_REDIS_URL
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from app.api import catalog as catalog_api
from app.api.fast_reads import FastReads
from app.extensions import db
from app.http.key_use import key_use_log
from app.metrics import REQUESTS
from app.models import ApiKey
from app.services.checklists.reads import render_cache
from app.services.directory.teams import hash_token
from app.services.driver_reads import DriverReads

CHECKLIST_ROUTE = "/v1/projects/<string:project_ref>/checklist"
# An `X-Request-ID` Flask does not take: the request gets an id of its own.
BAD_ID = "bad id!"
# Headers whose value the clock or a fresh id sets: compared by presence only.
_MOVING = {"Date", "X-RateLimit-Reset"}


@pytest.fixture
def served(app_with: Callable[..., Flask]) -> Callable[..., Flask]:
    """`served(limit)`: an instance on the test's database counting in Redis (so that it
    caches keys), whose fast path a test turns on and off."""

    def make(limit: str = "1000 per minute") -> Flask:
        require_redis(KEY_CACHE_REDIS_URL)
        return app_with(
            rate_limit=limit, rate_limit_storage_uri=KEY_CACHE_REDIS_URL, api_key_cache_seconds=60
        )

    return make


def _fast(instance: Flask) -> FastReads:
    layer = instance.wsgi_app
    assert isinstance(layer, FastReads)
    return layer


class Pair:
    """One request sent to Flask (`FAST_READS` off) then to the fast path (on)."""

    def __init__(self, instance: Flask, token: str) -> None:
        self.instance = instance
        self.client = instance.test_client()
        self.token = token

    def send(self, path: str, *, fast: bool, headers: dict[str, str] | None = None) -> Any:
        self.instance.config["FAST_READS"] = fast
        try:
            return self.client.get(
                path, headers={"Authorization": f"Bearer {self.token}", **(headers or {})}
            )
        finally:
            self.instance.config["FAST_READS"] = True

    def both(
        self,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        answered: bool,
        before_each: Callable[[], None] = lambda: None,
    ) -> tuple[Any, Any]:
        layer = _fast(self.instance)
        before = layer.answered
        before_each()
        flask_answer = self.send(path, fast=False, headers=headers)
        assert layer.answered == before, "FAST_READS off, yet the fast path answered"
        before_each()
        fast_answer = self.send(path, fast=True, headers=headers)
        assert layer.answered == before + answered, (path, headers)
        assert_same(flask_answer, fast_answer, headers or {})
        return flask_answer, fast_answer


def assert_same(flask_answer: Any, fast_answer: Any, sent: dict[str, str]) -> None:
    generated = sent.get("X-Request-ID", BAD_ID) == BAD_ID
    assert fast_answer.status == flask_answer.status
    if flask_answer.mimetype == "application/problem+json" and generated:
        # A problem names the request's id: the rest of it must be the same.
        fast_problem, flask_problem = fast_answer.json, flask_answer.json
        assert fast_problem.pop("request_id") != flask_problem.pop("request_id")
        assert fast_problem == flask_problem
    else:
        assert fast_answer.get_data() == flask_answer.get_data()
    flask_headers = _headers(flask_answer)
    fast_headers = _headers(fast_answer)
    assert sorted(fast_headers) == sorted(flask_headers)
    for name, value in flask_headers.items():
        if name in _MOVING or (name == "X-Request-ID" and generated):
            continue
        if name == "X-RateLimit-Remaining":
            # Flask's request was counted first: the fast path's left one fewer (none once
            # the budget is spent).
            assert int(fast_headers[name]) == max(0, int(value) - 1)
            continue
        assert fast_headers[name] == value, name
    if generated:
        assert fast_headers["X-Request-ID"] != flask_headers["X-Request-ID"]
        assert len(fast_headers["X-Request-ID"]) == 24
    if "X-RateLimit-Reset" in flask_headers:
        reset = int(flask_headers["X-RateLimit-Reset"])
        assert reset <= int(fast_headers["X-RateLimit-Reset"]) <= reset + 1


def _headers(answer: Any) -> dict[str, str]:
    listed = answer.headers.to_wsgi_list()
    names = [name for name, _ in listed]
    assert len(names) == len(set(names)), names
    return dict(listed)


@pytest.fixture
def checklist(api: ApiClient) -> dict[str, Any]:
    project, _ = staffed_project(api)
    generate(api, project, status=201)
    return project


def _budget_spent(instance: Flask, key_id: str) -> int:
    """The hits counted against `key_id`'s budget in the store."""
    store = redis.Redis.from_url(KEY_CACHE_REDIS_URL)
    keys = store.keys(f"*key:{key_id}/*")
    return sum(int(store.get(k) or 0) for k in keys)


def _key_id(app: Flask, token: str) -> str:
    with app.app_context():
        row = db.session.execute(
            ApiKey.__table__.select().where(ApiKey.secret_hash == hash_token(token))
        ).first()
    assert row is not None
    return str(row.id)


def _pair(served: Callable[..., Flask], api: ApiClient, limit: str = "1000 per minute") -> Pair:
    pair = Pair(served(limit), api.token)
    # The instance looks the key up once, then serves it from its cache.
    assert pair.send("/v1/catalog", fast=True).status_code == 200
    return pair


def test_healthz_is_flasks_answer_with_and_without_a_request_id(served, api):
    pair = _pair(served, api)
    pair.both("/healthz", answered=True)
    pair.both("/healthz", {"X-Request-ID": "probe-7"}, answered=True)
    # An id Flask would not take is replaced by a fresh one on both paths.
    pair.both("/healthz", {"X-Request-ID": BAD_ID}, answered=True)


def test_a_checklist_304_200_cached_and_200_not_cached_are_flasks_answers(
    app, served, api, checklist
):
    pair = _pair(served, api)
    path = f"/v1/projects/{checklist['id']}/checklist"
    render_cache.clear()
    # Not rendered yet: Flask renders it, on either path.
    first, _ = pair.both(path, answered=False, before_each=render_cache.clear)
    etag = first.headers["ETag"]
    # Rendered: the fast path answers the cached bytes, and the 304s.
    pair.both(path, answered=True)
    pair.both(path, {"If-None-Match": '"stale"'}, answered=True)
    pair.both(path, {"If-None-Match": etag}, answered=True)
    pair.both(path, {"If-None-Match": etag, "X-Request-ID": "abc-123"}, answered=True)
    pair.both(path, {"If-None-Match": etag, "Accept": "application/json"}, answered=True)
    # By slug too.
    pair.both(f"/v1/projects/{checklist['slug']}/checklist", {"If-None-Match": etag}, answered=True)


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_a_checklist_asked_for_by_its_format_alone_is_flasks_answer(
    app, served, api, checklist, fmt
):
    """`?format=markdown` (or `json`) and nothing else: the format's rendering, cached, and its
    304; the query names the format, so `Accept` does not choose it."""
    pair = _pair(served, api)
    path = f"/v1/projects/{checklist['id']}/checklist?format={fmt}"
    render_cache.clear()
    first, _ = pair.both(path, answered=False, before_each=render_cache.clear)
    etag = first.headers["ETag"]
    assert first.mimetype == {"json": "application/json", "markdown": "text/markdown"}[fmt]
    pair.both(path, answered=True)
    pair.both(path, {"If-None-Match": etag}, answered=True)
    pair.both(path, {"If-None-Match": etag, "Accept": "text/html"}, answered=True)
    pair.both(path, {"Accept": "text/csv", "X-Request-ID": "md-1"}, answered=True)
    # The JSON without a query is the same representation as `?format=json`.
    plain = pair.send(f"/v1/projects/{checklist['id']}/checklist", fast=True)
    assert (plain.headers["ETag"] == etag) == (fmt == "json")


def test_the_catalogs_304_200_cached_and_200_not_encoded_are_flasks_answers(served, api):
    pair = _pair(served, api)  # the warm-up read the catalog: its answer is encoded
    first, _ = pair.both("/v1/catalog", answered=True)
    etag = first.headers["ETag"]
    pair.both("/v1/catalog", {"If-None-Match": etag}, answered=True)
    pair.both("/v1/catalog", {"If-None-Match": '"stale"', "X-Request-ID": "c-1"}, answered=True)
    # Not encoded yet: Flask dumps it, on either path.
    pair.both("/v1/catalog", answered=False, before_each=catalog_api._encoded.clear)
    pair.both("/v1/catalog?x=1", answered=False)


def test_what_the_fast_path_does_not_answer_reaches_flask(app, served, api, other_api, checklist):
    pair = _pair(served, api)
    path = f"/v1/projects/{checklist['id']}/checklist"
    etag = pair.send(path, fast=False).headers["ETag"]
    # Another team's project is a 404 for this key, on both paths.
    other = staffed_project(other_api)[0]
    generate(other_api, other, status=201)
    pair.both(f"/v1/projects/{other['id']}/checklist", {"If-None-Match": etag}, answered=False)
    pair.both("/v1/projects/prj_missing/checklist", answered=False)
    pair.both(path, {"Accept": "text/markdown"}, answered=False)
    pair.both(f"{path}?format=json&compact=true", {"If-None-Match": etag}, answered=False)
    pair.both(f"{path}?format=csv", answered=False)
    pair.both(f"{path}?role=ai-ethicist", answered=False)
    pair.both(
        path,
        {"If-None-Match": etag, "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"},
        answered=False,
    )
    wrong = Pair(pair.instance, "not-a-key")
    wrong.both(path, {"If-None-Match": etag}, answered=False)
    malformed = Pair(pair.instance, "")
    malformed.both(path, answered=False)


def test_a_key_without_the_read_scope_gets_flasks_403(app, served, make_api, checklist):
    limited = make_api(scopes=("read",))
    with app.app_context():
        db.session.execute(
            update(ApiKey).where(ApiKey.secret_hash == hash_token(limited.token)).values(scopes="")
        )
        db.session.commit()
    pair = Pair(served(), limited.token)
    path = f"/v1/projects/{checklist['id']}/checklist"
    key_id = _key_id(app, limited.token)
    # Looked up (403), then cached: refused by both paths, each request counted once.
    assert pair.send(path, fast=True).status_code == 403
    flask_answer, _ = pair.both(path, answered=False)
    assert flask_answer.status_code == 403
    assert _budget_spent(pair.instance, key_id) == 3


def test_past_the_budget_both_paths_give_the_same_429_and_count_each_request_once(
    app, served, api, checklist
):
    pair = _pair(served, api, "4 per minute")  # the warm-up request spent one
    path = f"/v1/projects/{checklist['id']}/checklist"
    key_id = _key_id(app, api.token)
    etag = pair.send(path, fast=False).headers["ETag"]  # two
    pair.both(path, {"If-None-Match": etag}, answered=True)  # three, four
    assert _budget_spent(pair.instance, key_id) == 4
    flask_answer, fast_answer = pair.both(path, {"If-None-Match": etag}, answered=False)
    assert flask_answer.status_code == fast_answer.status_code == 429
    assert "Retry-After" in fast_answer.headers
    assert _budget_spent(pair.instance, key_id) == 6


def test_every_answer_is_counted_once_against_the_budget(app, served, api, checklist):
    pair = _pair(served, api)
    key_id = _key_id(app, api.token)
    path = f"/v1/projects/{checklist['id']}/checklist"
    etag = pair.send(path, fast=False).headers["ETag"]
    spent = _budget_spent(pair.instance, key_id)
    pair.both(path, {"If-None-Match": etag}, answered=True)
    pair.both(path, answered=True)
    pair.both("/v1/projects/prj_missing/checklist", answered=False)
    assert _budget_spent(pair.instance, key_id) == spent + 6


@contextmanager
def _sessions_begun() -> Iterator[list[Session]]:
    begun: list[Session] = []

    def record(session: Session, *_: Any) -> None:
        begun.append(session)

    event.listen(Session, "after_begin", record)
    try:
        yield begun
    finally:
        event.remove(Session, "after_begin", record)


@contextmanager
def _driver_statements(engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement the driver runs while open, as the database is sent it, `BEGIN` and
    the rest (SQLite's trace); on PostgreSQL, psycopg's, with ` -- in a transaction` added
    to those that run outside autocommit (psycopg begins the transaction itself)."""
    statements: list[str] = []
    if engine.dialect.name == "sqlite":

        def trace(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.set_trace_callback(statements.append)

        event.listen(engine, "checkout", trace)
        try:
            yield statements
        finally:
            event.remove(engine, "checkout", trace)
        return
    import psycopg

    execute = psycopg.Cursor.execute

    def recorded(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        in_transaction = "" if cursor.connection.autocommit else " -- in a transaction"
        statements.append(f"{query}{in_transaction}")
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", recorded)
    try:
        yield statements
    finally:
        monkeypatch.undo()


def test_a_fast_304_runs_one_statement_outside_a_transaction_and_opens_no_session(
    served, api, checklist, monkeypatch
):
    pair = _pair(served, api)
    path = f"/v1/projects/{checklist['id']}/checklist"
    etag = pair.send(path, fast=False).headers["ETag"]
    engine = _engine(pair.instance)
    with _driver_statements(engine, monkeypatch) as statements, _sessions_begun() as begun:
        assert pair.send(path, fast=True, headers={"If-None-Match": etag}).status_code == 304
    assert not begun
    assert len(statements) == 1, statements
    assert statements[0].lstrip().upper().startswith("SELECT")
    assert "in a transaction" not in statements[0]
    # Flask's answer reads the same statement, in the request's transaction (on SQLite, a
    # deferred one; on PostgreSQL, the request's autocommit read).
    with _driver_statements(engine, monkeypatch) as flask_statements, _sessions_begun() as begun:
        assert pair.send(path, fast=False, headers={"If-None-Match": etag}).status_code == 304
    assert begun
    assert statements[0] in flask_statements, flask_statements


def _count(route: str, status: int) -> float:
    return REQUESTS.labels("GET", route, str(status))._value.get()  # type: ignore[attr-defined]


def test_the_access_line_and_the_metrics_are_flasks(served, api, checklist, caplog):
    pair = _pair(served, api)
    path = f"/v1/projects/{checklist['id']}/checklist"
    etag = pair.send(path, fast=False).headers["ETag"]
    lines = []
    for fast in (False, True):
        before = _count(CHECKLIST_ROUTE, 304), _count("/healthz", 200)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="app.access"):
            pair.send(path, fast=fast, headers={"If-None-Match": etag, "X-Request-ID": "r-1"})
            pair.send("/healthz", fast=fast)
        assert (_count(CHECKLIST_ROUTE, 304), _count("/healthz", 200)) == (
            before[0] + 1,
            before[1] + 1,
        )
        records = [r for r in caplog.records if r.name == "app.access"]
        assert len(records) == 2
        lines.append(records)
    fields = ("team_id", "api_key_id", "method", "route", "path", "status")
    for flask_record, fast_record in zip(*lines, strict=True):
        assert flask_record.getMessage() == fast_record.getMessage()
        assert {f: getattr(fast_record, f) for f in fields} == {
            f: getattr(flask_record, f) for f in fields
        }
        assert isinstance(fast_record.latency_ms, float)
    assert lines[1][0].request_id == "r-1"
    assert lines[1][0].team_id == api.team_id


def test_the_fast_path_notes_the_keys_use(served, api, checklist):
    pair = _pair(served, api)
    path = f"/v1/projects/{checklist['id']}/checklist"
    etag = pair.send(path, fast=False).headers["ETag"]
    uses = key_use_log(pair.instance)
    uses.write(_engine(pair.instance))  # whatever earlier requests noted
    assert pair.send(path, fast=True, headers={"If-None-Match": etag}).status_code == 304
    assert list(uses.pending()) == [_key_id(pair.instance, api.token)]


def _engine(instance: Flask) -> Any:
    with instance.app_context():
        return db.engine


def test_a_failure_on_the_fast_path_leaves_the_request_to_flask_counted_once(
    served, api, checklist, monkeypatch
):
    pair = _pair(served, api)
    key_id = _key_id(pair.instance, api.token)
    path = f"/v1/projects/{checklist['id']}/checklist"
    etag = pair.send(path, fast=False).headers["ETag"]
    spent = _budget_spent(pair.instance, key_id)

    def broken(*_: Any) -> None:
        raise RuntimeError("the fast path's read failed")

    monkeypatch.setattr(DriverReads, "first", broken)
    layer = _fast(pair.instance)
    answered = layer.answered
    answer = pair.send(path, fast=True, headers={"If-None-Match": etag})
    assert answer.status_code == 304 and answer.headers["ETag"] == etag
    assert layer.answered == answered  # Flask's answer, after the fast path's hit
    assert _budget_spent(pair.instance, key_id) == spent + 1
