"""The verified-key cache: a worker may keep the keys it looked up for `API_KEY_CACHE_SECONDS`,
but only with a shared (Redis) rate-limit store, through which a revocation reaches every
worker at once. A revoked key is refused on the very next request, by every instance, even
one that had just cached it; an entry past its time is looked up again; the cache is bounded.

"Instances" here are applications on the same database and the same Redis, as gunicorn
workers and other hosts are."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from conftest import require_redis
from factories import assert_problem
from flask import Flask
from redis_dbs import KEY_CACHE_REDIS_URL, REDIS_SERVER
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app import create_app
from app.extensions import db
from app.http.auth import KeyCache, VerifiedKey
from app.http.key_use import key_use_log
from app.models import ApiKey, utcnow
from app.services import lru
from app.services.context import Context
from app.services.directory import teams
from app.services.directory.teams import KEY_GENERATION, hash_token

DEAD_REDIS = "redis://127.0.0.1:1/0"
TTL = 60.0


class Clock:
    """The monotonic clock the key cache's LRU reads (`app.services.lru.time`), moved by the
    test rather than by waiting: an entry's time runs out exactly when the test says, however
    busy the machine."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    made = Clock()
    monkeypatch.setattr(lru, "time", made)
    return made


@pytest.fixture
def instance(app_with: Callable[..., Flask]) -> Callable[..., Flask]:
    """`instance(ttl, storage)`: another application on the test's database."""

    def make(ttl: float = 60.0, storage: str = KEY_CACHE_REDIS_URL) -> Flask:
        if storage.startswith(REDIS_SERVER):
            require_redis(KEY_CACHE_REDIS_URL)
        return app_with(rate_limit_storage_uri=storage, api_key_cache_seconds=ttl)

    return make


class Lookups:
    """The API key lookups an instance ran (SELECTs from api_keys), request by request."""

    def __init__(self) -> None:
        self.count = 0
        self.writes = 0


@contextmanager
def watching(instance: Flask) -> Iterator[Lookups]:
    seen = Lookups()
    with instance.app_context():
        engine = db.engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        text = " ".join(statement.split()).upper()
        if text.startswith("SELECT") and "FROM API_KEYS" in text:
            seen.count += 1
        if text.startswith("UPDATE API_KEYS"):
            seen.writes += 1

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _lookups_per_request(
    instance: Flask, token: str, requests: int, status: int = 200
) -> list[int]:
    client = instance.test_client()
    counts = []
    for _ in range(requests):
        with watching(instance) as seen:
            assert client.get("/v1/people", headers=_bearer(token)).status_code == status
        counts.append(seen.count)
    return counts


def _warm(instance: Flask, token: str) -> None:
    """A first request: the instance, which read the store's key generation when it started,
    looks `token`'s key up and caches it under that generation."""
    assert instance.test_client().get("/v1/people", headers=_bearer(token)).status_code == 200


def _key_id(app: Flask, token: str) -> str:
    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.secret_hash == hash_token(token)))
    assert key_id is not None
    return key_id


def _revoke_in_the_database_only(app: Flask, token: str) -> None:
    """What an UPDATE by hand does: the row says revoked, nobody is told."""
    with app.app_context():
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.secret_hash == hash_token(token))
            .values(revoked_at=utcnow())
        )
        db.session.commit()


def test_with_redis_a_key_is_looked_up_once_then_served_from_the_cache(instance, api):
    server = instance(ttl=60)
    _warm(server, api.token)

    assert _lookups_per_request(server, api.token, 4) == [0, 0, 0, 0]


def test_a_new_instance_caches_a_key_from_its_first_request_even_on_a_fresh_redis(instance, api):
    require_redis(KEY_CACHE_REDIS_URL)
    store = redis.Redis.from_url(KEY_CACHE_REDIS_URL)
    store.delete(KEY_GENERATION)  # a Redis that never had a key generation

    server = instance(ttl=60)

    # Made when the instance started, as the first hit would have made it.
    assert store.get(KEY_GENERATION) is not None
    assert _lookups_per_request(server, api.token, 3) == [1, 0, 0]


def test_an_entry_past_its_time_is_looked_up_again(app, instance, api, clock):
    server = instance(ttl=TTL)
    _warm(server, api.token)
    assert _lookups_per_request(server, api.token, 1) == [0]
    # Nobody told the instance (no `flask keys revoke`): the cache may hold it until its time.
    _revoke_in_the_database_only(app, api.token)
    clock.advance(TTL - 1)
    assert _lookups_per_request(server, api.token, 1) == [0]  # not yet
    clock.advance(1)

    with watching(server) as seen:
        answer = server.test_client().get("/v1/people", headers=_bearer(api.token))

    assert_problem(answer, 401)
    assert seen.count == 1


def test_a_key_revoked_with_the_cli_is_refused_at_once_by_every_instance(app, instance, api):
    first, second = instance(ttl=300), instance(ttl=300)
    for server in (first, second):
        _warm(server, api.token)
        assert _lookups_per_request(server, api.token, 1) == [0]  # cached
    operator = instance(ttl=300)

    result = operator.test_cli_runner().invoke(args=["keys", "revoke", _key_id(app, api.token)])

    assert result.exit_code == 0, result.output
    for server in (first, second):
        answer = server.test_client().get("/v1/people", headers=_bearer(api.token))
        body = assert_problem(answer, 401)
        assert "revoked" in body["detail"]
    # Looked up again once the generation changed: the revoked key is cached as such.
    assert _lookups_per_request(first, api.token, 2, status=401) == [0, 0]


def test_a_key_revoked_by_the_service_is_refused_on_the_next_request(app, instance, api):
    server = instance(ttl=300)
    _warm(server, api.token)
    key_id = _key_id(app, api.token)
    context = Context("cli", settings=server.config["SETTINGS"])
    client = server.test_client()

    with server.app_context():
        engine = db.engine
    with Session(engine) as session:
        teams.revoke_key(session, context, key_id)
        session.flush()
        # Not committed yet: no worker may hear of it before it is true.
        assert client.get("/v1/people", headers=_bearer(api.token)).status_code == 200
        session.commit()

    assert_problem(client.get("/v1/people", headers=_bearer(api.token)), 401)


def test_a_revocation_rolled_back_changes_nothing(app, instance, api):
    server = instance(ttl=300)
    _warm(server, api.token)
    store = redis.Redis.from_url(KEY_CACHE_REDIS_URL)
    before = store.get(KEY_GENERATION)
    context = Context("cli", settings=server.config["SETTINGS"])

    with server.app_context():
        engine = db.engine
    with Session(engine) as session:
        teams.revoke_key(session, context, _key_id(app, api.token))
        session.rollback()

    assert store.get(KEY_GENERATION) == before
    assert _lookups_per_request(server, api.token, 1) == [0]


def test_a_revoked_key_past_its_budget_is_a_401_not_a_429(app, instance, make_api):
    caller = make_api("Team R")
    settings = dataclasses.replace(
        app.config["SETTINGS"],
        rate_limit="2 per minute",
        rate_limit_storage_uri=KEY_CACHE_REDIS_URL,
        api_key_cache_seconds=300,
    )
    require_redis(KEY_CACHE_REDIS_URL)
    server = create_app(settings, {"TESTING": True})
    try:
        client = server.test_client()
        statuses = [
            client.get("/v1/people", headers=_bearer(caller.token)).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        result = (
            instance().test_cli_runner().invoke(args=["keys", "revoke", _key_id(app, caller.token)])
        )
        assert result.exit_code == 0, result.output

        answer = client.get(
            "/v1/people",
            headers=_bearer(caller.token),
            environ_base={"REMOTE_ADDR": f"2001:db8::77:{secrets.token_hex(2)}"},
        )

        assert_problem(answer, 401)
    finally:
        with server.app_context():
            db.engine.dispose()


def test_a_lost_generation_is_not_taken_for_the_old_one(instance, api):
    server = instance(ttl=300)
    _warm(server, api.token)
    redis.Redis.from_url(KEY_CACHE_REDIS_URL).delete(KEY_GENERATION)  # a flushed Redis

    assert _lookups_per_request(server, api.token, 3) == [1, 0, 0]


def test_with_memory_counts_every_request_looks_its_key_up(app, instance, api):
    server = instance(ttl=300, storage="memory://")

    assert _lookups_per_request(server, api.token, 3) == [1, 1, 1]
    _revoke_in_the_database_only(app, api.token)
    assert_problem(server.test_client().get("/v1/people", headers=_bearer(api.token)), 401)


def test_with_redis_down_every_request_looks_its_key_up(instance, api):
    server = instance(ttl=300, storage=DEAD_REDIS)

    assert _lookups_per_request(server, api.token, 3) == [1, 1, 1]


def test_a_cache_time_of_zero_turns_the_cache_off(instance, api):
    server = instance(ttl=0)

    assert _lookups_per_request(server, api.token, 3) == [1, 1, 1]


def test_cached_requests_write_nothing_and_the_batch_writes_the_keys_use_once(
    app, instance, api, monkeypatch
):
    server = instance(ttl=300)
    client = server.test_client()

    with watching(server) as seen:
        for _ in range(4):
            assert client.get("/v1/people", headers=_bearer(api.token)).status_code == 200
    assert seen.writes == 0

    monkeypatch.setattr(key_use_log(server), "interval", 0)  # the interval has passed
    with watching(server) as seen:
        for _ in range(2):
            assert client.get("/v1/people", headers=_bearer(api.token)).status_code == 200

    assert seen.writes == 2  # one batch after each request: the interval is 0 now
    with app.app_context():
        used = db.session.scalar(
            select(ApiKey.last_used_at).where(ApiKey.secret_hash == hash_token(api.token))
        )
    assert used is not None
    assert (utcnow() - used).total_seconds() < 60


def test_the_cache_holds_a_bounded_number_of_keys(instance, make_api):
    server = instance(ttl=300)
    cache = server.extensions["api_key_cache"]
    cache.size = 2
    callers = [make_api(f"Team {n}") for n in range(4)]
    client = server.test_client()

    for caller in callers * 2:
        assert client.get("/v1/people", headers=_bearer(caller.token)).status_code == 200

    assert len(cache) == 2
    # The most recently used stay: the last two keys are served without a lookup.
    for caller, lookups in zip(reversed(callers), [0, 0, 1, 1], strict=True):
        assert _lookups_per_request(server, caller.token, 1) == [lookups]


def _verified(name: str) -> VerifiedKey:
    return VerifiedKey(name, "team", frozenset({"read"}), None)


def test_the_cache_evicts_the_least_recently_used_and_forgets_expired_entries(clock):
    cache = KeyCache(ttl=TTL, size=3)
    for name in "abc":
        cache.put(name, _verified(name), "g1")
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", _verified("d"), "g1")

    assert len(cache) == 3
    assert cache.get("b") is None
    assert [cache.get(n).key.id for n in "acd"] == ["a", "c", "d"]
    clock.advance(TTL)
    assert [cache.get(n) for n in "acd"] == [None, None, None]
    assert len(cache) == 0


def test_nothing_is_cached_without_a_generation_to_check_it_against():
    cache = KeyCache(ttl=60)
    cache.put("a", _verified("a"), None)
    assert cache.get("a") is None
    off = KeyCache(ttl=0)
    off.put("a", _verified("a"), "g1")
    assert off.get("a") is None


@contextmanager
def checkouts(server: Flask) -> Iterator[list[int]]:
    """How many connections `server` took from its pool meanwhile (one item per checkout)."""
    seen: list[int] = []
    with server.app_context():
        engine = db.engine

    def checked_out(*_: Any) -> None:
        seen.append(1)

    event.listen(engine, "checkout", checked_out)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", checked_out)


def test_a_request_answered_before_any_read_takes_no_connection(app_with, make_api):
    require_redis(KEY_CACHE_REDIS_URL)
    reader = make_api("Team C", scopes=("read",))
    server = app_with(
        rate_limit="3 per minute",
        rate_limit_storage_uri=KEY_CACHE_REDIS_URL,
        api_key_cache_seconds=300,
    )
    client = server.test_client()
    mine = _bearer(reader.token)
    elsewhere = {"REMOTE_ADDR": f"2001:db8::c:{secrets.token_hex(2)}"}

    with checkouts(server) as first:  # the key looked up, then the view: one connection
        assert client.get("/v1/people", headers=mine).status_code == 200
    with checkouts(server) as cached:  # the key from the cache: the view's connection only
        assert client.get("/v1/people", headers=mine).status_code == 200
    with checkouts(server) as refused_scope:  # a cached key without the write scope
        answer = client.post("/v1/people", json={"name": "N"}, headers=mine)
        assert_problem(answer, 403)
    with checkouts(server) as past_budget:  # a cached key past its budget
        assert_problem(client.get("/v1/people", headers=mine), 429)
    with checkouts(server) as malformed:  # no key to look up: counted by address
        answer = client.get(
            "/v1/people", headers={"Authorization": "Basic x"}, environ_base=elsewhere
        )
        assert_problem(answer, 401)

    assert (len(first), len(cached)) == (1, 1)
    assert (len(refused_scope), len(past_budget), len(malformed)) == (0, 0, 0)
