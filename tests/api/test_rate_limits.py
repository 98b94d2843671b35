"""Rate limits: each API key has one budget for all of `/v1`, however its header is spelled;
requests without a valid key are counted by address. Past the budget, 429 problem+json with
Retry-After. Several instances share their counts through Redis."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from conftest import require_redis
from factories import assert_problem, person_body
from flask import Flask
from flask.testing import FlaskClient
from redis.connection import AbstractConnection
from redis_dbs import RATE_LIMIT_REDIS_URL as REDIS_URL
from sqlalchemy import select

from app.extensions import db
from app.http.rate_limits import HIT_CONNECTION_NAME
from app.models import ApiKey, utcnow
from app.services.directory.teams import hash_token

# Routes of several v1 blueprints (catalog, people, projects, staffing, events).
V1_READS = ["/v1/catalog", "/v1/people", "/v1/projects", "/v1/staffing", "/v1/events"]
PROBES = ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]
# Nothing listens on port 1: a rate-limit storage there is down.
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def limited_app(app_with: Callable[..., Flask]) -> Callable[..., Flask]:
    """Make other instances of the service on the same database, with their own rate limit."""

    def make(limit: str, storage: str = "memory://") -> Flask:
        return app_with(rate_limit=limit, rate_limit_storage_uri=storage)

    return make


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _from(address: str) -> dict[str, dict[str, str]]:
    """Request arguments that make the test client's request come from `address`."""
    return {"environ_base": {"REMOTE_ADDR": address}}


def _random_address() -> str:
    """An address of the documentation range no earlier run has counts for in Redis."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


def test_a_key_past_its_limit_gets_429_with_retry_after_and_others_do_not(
    limited_app, api, other_api
):
    client = limited_app("3 per minute").test_client()

    answers = [
        client.get("/v1/catalog/roles/ai-ethicist", headers=_bearer(api.token)) for _ in range(4)
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    body = assert_problem(answers[-1], 429)
    assert body["type"].endswith("rate-limited")
    assert "3 per 1 minute" in body["detail"]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].headers["X-RateLimit-Limit"] == "3"
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert "Retry-After" not in answers[0].headers
    theirs = client.get("/v1/catalog/roles/ai-ethicist", headers=_bearer(other_api.token))
    assert theirs.status_code == 200


def test_every_spelling_of_the_authorization_header_shares_the_keys_budget(limited_app, api):
    client = limited_app("4 per minute").test_client()
    spellings = [f"Bearer {api.token}", f"bearer {api.token}", f"BEARER {api.token}"]
    spellings += [f"Bearer  {api.token} ", f"bEaReR {api.token}\t"]

    statuses = [
        client.get("/v1/people", headers={"Authorization": spelling}).status_code
        for spelling in spellings
    ]

    assert statuses == [200, 200, 200, 200, 429]


def test_requests_to_different_routes_share_one_budget(limited_app, api):
    client = limited_app("7 per minute").test_client()
    mine = _bearer(api.token)

    answers = [client.get(path, headers=mine) for path in V1_READS]
    answers.append(client.post("/v1/people", json=person_body(), headers=mine))
    answers.append(client.get("/v1/catalog/roles/ai-ethicist", headers=mine))
    past = client.post("/v1/projects", json={"name": "Late", "application": "x"}, headers=mine)

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 201, 200]
    remaining = [int(a.headers["X-RateLimit-Remaining"]) for a in answers]
    assert remaining == [6, 5, 4, 3, 2, 1, 0]
    assert_problem(past, 429)
    assert client.get("/v1/staffing", headers=mine).status_code == 429


def test_a_key_is_counted_by_its_id_not_by_the_address_it_comes_from(limited_app, api):
    client = limited_app("2 per minute").test_client()
    mine = _bearer(api.token)

    statuses = [
        client.get("/v1/people", headers=mine, **_from(address)).status_code
        for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3")
    ]

    assert statuses == [200, 200, 429]


def test_requests_without_a_valid_key_are_limited_by_address(app, limited_app, make_api):
    client = limited_app("5 per minute").test_client()
    revoked = make_api("Team R")
    with app.app_context():
        key = db.session.scalar(
            select(ApiKey).where(ApiKey.secret_hash == hash_token(revoked.token))
        )
        assert key is not None
        key.revoked_at = utcnow()  # what `flask keys revoke` does
        db.session.commit()
    invalid: list[dict[str, str]] = [
        {},  # missing
        {"Authorization": "Basic dXNlcjpwYXNz"},  # malformed
        {"Authorization": "Bearer"},  # malformed: no key
        _bearer("sck_guess"),  # unknown
        _bearer(revoked.token),  # revoked
    ]

    statuses = [
        client.get("/v1/people", headers=headers, **_from("198.51.100.7")).status_code
        for headers in invalid
    ]
    statuses.append(client.get("/v1/projects", **_from("198.51.100.7")).status_code)

    assert statuses == [401, 401, 401, 401, 401, 429]
    # Another address has a budget of its own.
    assert client.get("/v1/people", **_from("198.51.100.8")).status_code == 401


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(app_with):
    behind = app_with(rate_limit="1 per minute", trusted_proxy_hops=1).test_client()
    direct = app_with(rate_limit="1 per minute").test_client()
    balancer = _from("10.0.0.2")  # every request reaches the service through it

    def get(client: FlaskClient, forwarded_for: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        return client.get("/v1/people", headers=headers, **balancer).status_code

    # Each client behind the balancer has a budget of its own...
    assert [get(behind, "192.0.2.10"), get(behind, "192.0.2.10")] == [401, 429]
    assert get(behind, "192.0.2.11") == 401
    # ...and without TRUSTED_PROXY_HOPS the header is not believed: one budget, the balancer's.
    assert [get(direct, "192.0.2.20"), get(direct, "192.0.2.21")] == [401, 429]


def test_unauthenticated_requests_do_not_spend_a_keys_budget(limited_app, api):
    client = limited_app("2 per minute").test_client()
    here = _from("203.0.113.5")

    guesses = [client.get("/v1/people", headers=_bearer("sck_guess"), **here) for _ in range(3)]
    mine = [client.get("/v1/people", headers=_bearer(api.token), **here) for _ in range(3)]

    assert [a.status_code for a in guesses] == [401, 401, 429]
    assert_problem(guesses[-1], 429)
    assert int(guesses[-1].headers["Retry-After"]) > 0
    assert [a.status_code for a in mine] == [200, 200, 429]


def test_probes_and_the_api_description_are_never_limited(limited_app, api):
    client = limited_app("1 per minute").test_client()
    assert client.get("/v1/people", headers=_bearer(api.token)).status_code == 200
    assert client.get("/v1/people", headers=_bearer(api.token)).status_code == 429
    assert client.get("/v1/people").status_code == 401
    assert client.get("/v1/people").status_code == 429

    for _ in range(3):
        for path in PROBES:
            response = client.get(path, headers=_bearer(api.token))
            assert response.status_code == 200, path
            assert "X-RateLimit-Limit" not in response.headers


def test_a_rate_limit_storage_that_is_down_falls_back_to_counting_in_memory(limited_app, api):
    client = limited_app("2 per minute", DEAD_REDIS).test_client()

    statuses = [client.get(path, headers=_bearer(api.token)).status_code for path in V1_READS[:3]]

    assert statuses == [200, 200, 429]


def _alternate(clients: tuple[FlaskClient, FlaskClient], paths: list[str], **kwargs) -> list[int]:
    return [clients[i % 2].get(path, **kwargs).status_code for i, path in enumerate(paths)]


def test_instances_sharing_redis_share_one_budget_per_key(limited_app, api):
    require_redis(REDIS_URL)
    first = limited_app("3 per minute", REDIS_URL).test_client()
    second = limited_app("3 per minute", REDIS_URL).test_client()

    # The key is new to this test, so no earlier run's counts in Redis apply.
    statuses = _alternate((first, second), V1_READS[:4], headers=_bearer(api.token))

    assert statuses == [200, 200, 200, 429]


def test_instances_sharing_redis_share_one_budget_per_address(limited_app):
    require_redis(REDIS_URL)
    first = limited_app("3 per minute", REDIS_URL).test_client()
    second = limited_app("3 per minute", REDIS_URL).test_client()

    statuses = _alternate(
        (first, second), V1_READS[:4], headers=_bearer("sck_guess"), **_from(_random_address())
    )

    assert statuses == [401, 401, 401, 429]


def test_requests_refused_for_a_missing_scope_spend_the_keys_budget(limited_app, make_api):
    reader = make_api(scopes=("read",))
    client = limited_app("3 per minute").test_client()

    answers = [
        client.post("/v1/people", json=person_body(), headers=_bearer(reader.token))
        for _ in range(3)
    ]
    last = client.get("/v1/people", headers=_bearer(reader.token))

    assert [a.status_code for a in answers] == [403, 403, 403]
    assert_problem(last, 429)


@pytest.fixture
def redis_sends(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every command the process sends to Redis from now on (a pipeline would be one send)."""
    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(b"".join(command) if isinstance(command, list) else bytes(command))
        original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


def test_a_counted_request_makes_one_round_trip_to_redis(limited_app, make_api, redis_sends):
    require_redis(REDIS_URL)
    caller = make_api("Team T")
    client = limited_app("3 per minute", REDIS_URL).test_client()
    mine = _bearer(caller.token)
    here = _from(_random_address())
    # The first request loads the script and the key generation and caches the key.
    assert client.get("/v1/people", headers=mine).status_code == 200
    etag = client.get("/v1/catalog", headers=mine).headers["ETag"]
    assert client.get("/v1/catalog", headers={**mine, "If-None-Match": etag}).status_code == 304

    requests = [
        (client.get, "/v1/people", {"headers": _bearer("sck_guess"), **here}, 401),
        (client.post, "/v1/people", {"headers": {}, "json": person_body(), **here}, 401),
        (client.get, "/v1/catalog", {"headers": {}, **here}, 401),
        (client.get, "/v1/catalog", {"headers": {}, **here}, 429),
        (client.get, "/v1/catalog", {"headers": {**mine, "If-None-Match": etag}}, 429),
    ]
    for send, path, kwargs, status in requests:
        redis_sends.clear()
        answer = send(path, **kwargs)
        assert answer.status_code == status
        assert len(redis_sends) == 1, redis_sends
        assert b"EVALSHA" in redis_sends[0].upper()
        assert answer.headers["X-RateLimit-Limit"] == "3"
        assert int(answer.headers["X-RateLimit-Reset"]) > 0
        if status == 429:
            assert answer.headers["X-RateLimit-Remaining"] == "0"
            assert 0 < int(answer.headers["Retry-After"]) <= 60


def test_a_counted_request_makes_one_round_trip_to_redis_when_it_succeeds(
    limited_app, make_api, redis_sends
):
    require_redis(REDIS_URL)
    caller = make_api("Team S")
    client = limited_app("100 per minute", REDIS_URL).test_client()
    mine = _bearer(caller.token)
    for _ in range(2):  # the script loaded, the generation learnt, the key cached
        assert client.get("/v1/people", headers=mine).status_code == 200
    etag = client.get("/v1/catalog", headers=mine).headers["ETag"]

    remaining = []
    for send, path, kwargs, status in [
        (client.get, "/v1/catalog", {"headers": {**mine, "If-None-Match": etag}}, 304),
        (client.get, "/v1/catalog", {"headers": mine}, 200),
        (client.post, "/v1/people", {"headers": mine, "json": person_body()}, 201),
    ]:
        redis_sends.clear()
        answer = send(path, **kwargs)
        assert answer.status_code == status
        assert len(redis_sends) == 1, redis_sends
        remaining.append(int(answer.headers["X-RateLimit-Remaining"]))
        assert "Retry-After" not in answer.headers

    assert remaining == [96, 95, 94]


def test_the_direct_hit_counts_in_the_budget_flask_limiters_path_counts_in(
    limited_app, make_api, monkeypatch
):
    """The budget is hit without Flask-Limiter's per-request layers (`DirectBudget`), in the
    same counter: an instance taking the library's path shares it, key by key."""
    require_redis(REDIS_URL)
    caller = make_api("Team D")
    direct, through_library = (limited_app("3 per minute", REDIS_URL) for _ in range(2))
    calls: dict[str, int] = {"direct": 0, "library": 0}
    for name, app in (("direct", direct), ("library", through_library)):
        budget = app.extensions["v1_rate_limit_direct"]
        check = budget.limiter._check_request_limit

        def counted(*args: Any, _name: str = name, _check: Any = check, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _check(*args, **kwargs)

        monkeypatch.setattr(budget.limiter, "_check_request_limit", counted)
    monkeypatch.setattr(through_library.extensions["v1_rate_limit_direct"], "usable", lambda: False)
    clients = (direct.test_client(), through_library.test_client())

    statuses = _alternate(clients, V1_READS, headers=_bearer(caller.token))

    assert statuses == [200, 200, 200, 429, 429]
    assert calls == {"direct": 0, "library": 2}
    refused = clients[0].get("/v1/catalog", headers=_bearer(caller.token))
    problem = assert_problem(refused, 429)
    assert problem["type"].endswith("rate-limited")
    assert problem["detail"] == "Too many requests (limit: 3 per 1 minute); retry later."


def _kill_hit_connections() -> int:
    """Close, from the server's side, every rate-limit connection of the process (as Redis
    does to a client idle past its `timeout`)."""
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    ids = [c["id"] for c in store.client_list() if c.get("name") == HIT_CONNECTION_NAME]
    for client_id in ids:
        store.client_kill_filter(_id=client_id)
    return len(ids)


def test_a_hit_on_a_connection_the_server_closed_is_sent_again_and_counted_once(
    limited_app, make_api, redis_sends
):
    require_redis(REDIS_URL)
    caller = make_api("Team K")
    client = limited_app("100 per minute", REDIS_URL).test_client()
    mine = _bearer(caller.token)
    assert client.get("/v1/people", headers=mine).status_code == 200
    assert _kill_hit_connections() >= 1
    redis_sends.clear()
    answer = client.get("/v1/people", headers=mine)
    assert answer.status_code == 200
    # Sent on the closed connection, then on a new one (named, then the hit): counted once.
    hits = [sent for sent in redis_sends if b"EVALSHA" in sent.upper()]
    assert len(hits) == 2
    assert answer.headers["X-RateLimit-Remaining"] == "98"
    assert client.get("/v1/people", headers=mine).headers["X-RateLimit-Remaining"] == "97"


def test_a_hit_after_the_server_lost_its_scripts_loads_it_again_and_counts_once(
    limited_app, make_api
):
    import redis

    require_redis(REDIS_URL)
    caller = make_api("Team L")
    client = limited_app("100 per minute", REDIS_URL).test_client()
    mine = _bearer(caller.token)
    assert client.get("/v1/people", headers=mine).headers["X-RateLimit-Remaining"] == "99"
    redis.Redis.from_url(REDIS_URL).script_flush()
    answer = client.get("/v1/people", headers=mine)
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Remaining"] == "98"


def test_an_app_whose_limiter_would_make_the_direct_hit_wrong_refuses_to_start_even_under_O(
    tmp_path,
):
    """`RATELIMIT_HEADERS_ENABLED` would have Flask-Limiter write headers the direct hit does
    not feed: the app must not start, and `python -O` (which strips asserts) changes nothing."""
    import subprocess
    import sys

    script = (
        "import dataclasses\n"
        "from app import create_app\n"
        "from app.config import Settings\n"
        f"settings = dataclasses.replace(Settings.from_env(), database_url='sqlite:///{tmp_path}/x.db')\n"
        "try:\n"
        "    create_app(settings, {'RATELIMIT_HEADERS_ENABLED': True})\n"
        "except RuntimeError as error:\n"
        "    print('refused:', error)\n"
        "else:\n"
        "    print('started')\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout and "headers are off" in done.stdout, done.stdout
