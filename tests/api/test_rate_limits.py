"""Rate limits: each API key has its own budget; past it, 429 problem+json with Retry-After.
Several instances share their counts through Redis."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterator

import pytest
import redis
from conftest import REDIS_URL, REQUIRE_REDIS
from factories import assert_problem
from flask import Flask

from app import create_app
from app.config import Settings
from app.extensions import db


@pytest.fixture
def limited_app(app: Flask) -> Iterator[Callable[..., Flask]]:
    """Make other instances of the service on the same database, with their own rate limit."""
    made: list[Flask] = []

    def make(limit: str, storage: str = "memory://") -> Flask:
        settings = dataclasses.replace(
            app.config["SETTINGS"], rate_limit=limit, rate_limit_storage_uri=storage
        )
        assert isinstance(settings, Settings)
        made.append(create_app(settings, {"TESTING": True}))
        return made[-1]

    yield make
    for instance in made:
        with instance.app_context():
            db.engine.dispose()


def test_a_key_past_its_limit_gets_429_with_retry_after_and_others_do_not(
    limited_app, api, other_api
):
    client = limited_app("3 per minute").test_client()
    mine = {"Authorization": f"Bearer {api.token}"}

    answers = [client.get("/v1/catalog/roles/ai-ethicist", headers=mine) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    body = assert_problem(answers[-1], 429)
    assert "3 per 1 minute" in body["detail"]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert answers[0].headers["X-RateLimit-Remaining"] == "2"
    assert "Retry-After" not in answers[0].headers
    theirs = {"Authorization": f"Bearer {other_api.token}"}
    assert client.get("/v1/catalog/roles/ai-ethicist", headers=theirs).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_guessing_keys_is_limited_too(limited_app):
    client = limited_app("2 per minute").test_client()
    guess = {"Authorization": "Bearer sck_guess"}

    statuses = [client.get("/v1/people", headers=guess).status_code for _ in range(3)]

    assert statuses == [401, 401, 429]


def _redis_reachable() -> bool:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


def test_instances_sharing_redis_share_one_budget(limited_app):
    if not _redis_reachable():
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but unreachable at {REDIS_URL}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    first = limited_app("3 per minute", REDIS_URL).test_client()
    second = limited_app("3 per minute", REDIS_URL).test_client()
    # A key of its own, so that no earlier run's counts in Redis apply.
    headers = {"Authorization": f"Bearer sck_{secrets.token_hex(8)}"}

    statuses = [
        client.get("/v1/people", headers=headers).status_code
        for client in (first, second, first, second)
    ]

    assert statuses == [401, 401, 401, 429]
