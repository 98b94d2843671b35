"""Fixtures of the concurrency suite: a fresh PostgreSQL database set up with the `flask` CLI,
and real gunicorn servers on it that the races hit from real threads.

Only PostgreSQL: the races are about row locks and transaction isolation, which SQLite (one
writer at a time) cannot show. When PostgreSQL is unreachable the suite is skipped, unless
`REQUIRE_POSTGRES=1` (as in CI), where it fails; likewise Redis for the rate-limit storm with
`REQUIRE_REDIS=1`.

Servers (session fixtures, started on first use, stopped at the end):

- `live_server`: `gunicorn -w 4 --threads 4`, `RATE_LIMIT=1000000 per minute`;
- `rate_limited_server`: the same with `RATE_LIMIT=5 per minute` counted in Redis;
- `shifted_clock_server`: two workers whose clock runs `CLOCK_SHIFT_DAYS` days ahead, to see
  what the service does once a waiver's date has passed.

Each race records its figures (statuses, 409s, mismatches) in `race(...)`; the figures are
printed at the end of the run ("concurrency figures"), for docs/reliability.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from databases import fresh_postgres_database
from redis_dbs import STORM_REDIS_URL

from .harness import (
    CLOCK_SHIFT_PRELUDE,
    Figures,
    GunicornSpec,
    RaceFigures,
    Server,
    close_all_clients,
    create_key,
    run_cli,
    serve,
)

RATELIMIT_REDIS_URL = STORM_REDIS_URL
REQUIRE_REDIS = os.environ.get("REQUIRE_REDIS") == "1"
CLOCK_SHIFT_DAYS = 2
TEAM_SLUG = "concurrency"

FIGURES = Figures()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not FIGURES.races:
        return
    terminalreporter.write_sep("=", "concurrency figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def figures() -> Figures:
    return FIGURES


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    close_all_clients()


@pytest.fixture
def race(figures: Figures) -> Iterator[Callable[[str, str], RaceFigures]]:
    """`race(name, title)`: the figures one test records (it may record several races)."""
    started = time.monotonic()
    made: list[RaceFigures] = []

    def make(name: str, title: str) -> RaceFigures:
        made.append(figures.race(name, title))
        return made[-1]

    yield make
    for one in made:
        one.seconds = time.monotonic() - started


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this run's own on the PostgreSQL server, dropped at the end."""
    with fresh_postgres_database("test_concurrency") as url:
        yield url


@pytest.fixture(scope="session")
def operator_env(postgres_url: str) -> dict[str, str]:
    """The environment of the CLI and the servers; the database migrated and seeded, and the
    suite's team created, as an operator does it."""
    env = {"DATABASE_URL": postgres_url, "LOG_LEVEL": "WARNING"}
    run_cli(env, "db", "upgrade")
    run_cli(env, "seed")
    output = run_cli(env, "teams", "create", "Concurrency", "--slug", TEAM_SLUG)
    assert f"slug: {TEAM_SLUG}" in output, output
    return env


@pytest.fixture(scope="session")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


def _metrics_dir(base: Path, name: str) -> str:
    path = base / f"metrics-{name}"
    path.mkdir()
    return str(path)


@pytest.fixture(scope="session")
def live_server(operator_env: dict[str, str], server_dir: Path) -> Iterator[Server]:
    """gunicorn -w 4 --threads 4, with a key of every scope (`tokens["main"]`)."""
    tokens = {"main": create_key(operator_env, TEAM_SLUG, "read,write,admin", "races")}
    spec = GunicornSpec(
        "live",
        {
            **operator_env,
            "RATE_LIMIT": "1000000 per minute",
            "PROMETHEUS_MULTIPROC_DIR": _metrics_dir(server_dir, "live"),
        },
    )
    FIGURES.server_logs[spec.name] = server_dir / f"gunicorn-{spec.name}.log"
    yield from serve(spec, server_dir, tokens)


@pytest.fixture(scope="session")
def rate_limited_server(operator_env: dict[str, str], server_dir: Path) -> Iterator[Server]:
    """gunicorn -w 4 --threads 4 with `RATE_LIMIT=5 per minute` counted in a Redis database of
    the suite's own (flushed first); two keys, `first` and `second`."""
    try:
        store = redis.Redis.from_url(RATELIMIT_REDIS_URL, socket_connect_timeout=2)
        store.flushdb()
        store.close()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but unreachable: {exc}")
        pytest.skip(f"Redis unreachable at {RATELIMIT_REDIS_URL}: {exc}")
    tokens = {
        "first": create_key(operator_env, TEAM_SLUG, "read", "limited-1"),
        "second": create_key(operator_env, TEAM_SLUG, "read", "limited-2"),
    }
    spec = GunicornSpec(
        "rate-limited",
        {
            **operator_env,
            "RATE_LIMIT": "5 per minute",
            "RATELIMIT_STORAGE_URI": RATELIMIT_REDIS_URL,
            "PROMETHEUS_MULTIPROC_DIR": _metrics_dir(server_dir, "rate-limited"),
        },
    )
    FIGURES.server_logs[spec.name] = server_dir / f"gunicorn-{spec.name}.log"
    yield from serve(spec, server_dir, tokens)


@pytest.fixture(scope="session")
def shifted_clock_server(operator_env: dict[str, str], server_dir: Path) -> Iterator[Server]:
    """The service on the same database, its clock `CLOCK_SHIFT_DAYS` days ahead (key `main`)."""
    tokens = {"main": create_key(operator_env, TEAM_SLUG, "read,write", "clock")}
    spec = GunicornSpec(
        "shifted-clock",
        {
            **operator_env,
            "RATE_LIMIT": "1000000 per minute",
            "CLOCK_SHIFT_DAYS": str(CLOCK_SHIFT_DAYS),
            "PROMETHEUS_MULTIPROC_DIR": _metrics_dir(server_dir, "shifted-clock"),
        },
        workers=2,
        threads=2,
        prelude=CLOCK_SHIFT_PRELUDE,
    )
    FIGURES.server_logs[spec.name] = server_dir / f"gunicorn-{spec.name}.log"
    yield from serve(spec, server_dir, tokens)
