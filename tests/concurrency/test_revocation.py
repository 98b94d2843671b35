"""Revocation across worker processes: gunicorn with two worker processes sharing Redis, each
caching the keys it looked up for `API_KEY_CACHE_SECONDS=300`. A key revoked with
`flask keys revoke` (run with the servers' `RATELIMIT_STORAGE_URI`) is refused on the very
next request, whichever worker answers it; a key revoked behind the service's back (an UPDATE
by hand, nobody told) is still served from the workers' caches, which is what shows that they
cache at all.

Every request goes on a new connection (the workers are sync: one request per connection), and
each round's requests are answered half by one worker and half by the other (`_round`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from redis_dbs import REVOCATION_REDIS_URL
from sqlalchemy.engine import make_url

from .conftest import REQUIRE_REDIS, TEAM_SLUG
from .harness import Client, GunicornSpec, RaceFigures, Server, new_key, run_cli, serve

WORKERS = 2
REQUESTS = 16  # per round, each on a connection of its own


@pytest.fixture(scope="module")
def caching_server(operator_env: dict[str, str], server_dir: Path) -> Iterator[Server]:
    try:
        store = redis.Redis.from_url(REVOCATION_REDIS_URL, socket_connect_timeout=2)
        store.flushdb()
        store.close()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but unreachable: {exc}")
        pytest.skip(f"Redis unreachable at {REVOCATION_REDIS_URL}: {exc}")
    metrics = server_dir / "metrics-revocation"
    metrics.mkdir()
    spec = GunicornSpec(
        "revocation",
        {
            **operator_env,
            "RATE_LIMIT": "1000000 per minute",
            "RATELIMIT_STORAGE_URI": REVOCATION_REDIS_URL,
            "API_KEY_CACHE_SECONDS": "300",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        },
        workers=WORKERS,
        threads=1,
    )
    yield from serve(spec, server_dir, {})


def _round(server: Server, token: str, figures: RaceFigures) -> Counter[int]:
    """REQUESTS requests of `token`, half of them answered by each worker. Left to the kernel,
    one worker may take every connection of a round (the one just done is often first back
    to `accept`), and then the other has never seen the key. So the requests go in pairs: a
    first connection is opened and held without its request, which keeps the sync worker
    that accepts it waiting on it; the second connection can only be the other worker's; then
    the first sends its request."""
    statuses: Counter[int] = Counter()
    for _ in range(REQUESTS // 2):
        with (
            Client(server.base_url, token, figures) as held,
            Client(server.base_url, token, figures) as other,
        ):
            held.connect()
            for client in (other, held):
                statuses[client.get("/v1/people", query={"limit": 1}).status] += 1
    return statuses


def _workers_pids(server: Server) -> set[int]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return {int(pid) for pid in children.read_text().split()}


def test_a_revoked_key_is_refused_at_once_by_every_worker(
    caching_server: Server, operator_env: dict[str, str], race
) -> None:
    figures = race("revocation", f"{WORKERS} workers caching keys for 300 s, Redis shared")
    assert len(_workers_pids(caching_server)) == WORKERS
    env = {**operator_env, "RATELIMIT_STORAGE_URI": REVOCATION_REDIS_URL}
    bypassed_id, bypassed = new_key(env, TEAM_SLUG, "read", "revoked-by-hand")
    revoked_id, revoked = new_key(env, TEAM_SLUG, "read", "revoked-by-cli")

    # Both keys used on both workers: looked up, then cached.
    assert _round(caching_server, bypassed, figures) == {200: REQUESTS}
    assert _round(caching_server, revoked, figures) == {200: REQUESTS}

    # Behind the service's back: the row says revoked, no worker is told. The workers keep
    # serving the key from their caches (until API_KEY_CACHE_SECONDS), so they do cache.
    url = make_url(operator_env["DATABASE_URL"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (bypassed_id,))
    by_hand = _round(caching_server, bypassed, figures)
    figures.note(f"revoked by hand, not told: {dict(by_hand)}")
    assert by_hand == {200: REQUESTS}

    # With the CLI: refused on the very next request, by both workers.
    assert f"revoked {revoked_id}" in run_cli(env, "keys", "revoke", revoked_id)
    after = _round(caching_server, revoked, figures)
    figures.note(f"revoked with flask keys revoke: {dict(after)}")
    figures.assert_no_server_errors()
    assert after == {401: REQUESTS}
    # The revocation told the workers to look every key up again: the key revoked by hand is
    # refused now too.
    assert _round(caching_server, bypassed, figures) == {401: REQUESTS}
