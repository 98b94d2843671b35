"""Fixtures of the webhook end-to-end suite: real receivers, real worker processes, a real
database, and the API in process on it.

- `database`: each test that takes it runs once on SQLite and once on PostgreSQL (a fresh
  database of the run's own, dropped at the end; skipped when unreachable unless
  `REQUIRE_POSTGRES=1`, where it fails, as in tests/conftest.py). Every row but the catalog's
  is removed before each test.
- `pg_database`: PostgreSQL only, for what several workers do at once.
- `receivers`: `receivers()` starts a `Receiver` on loopback; all are stopped afterwards.
- `workers`: starts `flask webhooks worker [--once]` processes on a database with the
  suite's settings (`support.WORKER_ENV`); any still running are stopped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .receiver import Receiver
from .support import Database, Workers, postgres_database, sqlite_database


@pytest.fixture(scope="session")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with sqlite_database(tmp_path_factory.mktemp("webhooks-sqlite")) as database:
        yield database


@pytest.fixture(scope="session")
def postgresql_db() -> Iterator[Database]:
    with postgres_database() as database:
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Database:
    """The database of one backend, emptied of the previous test's rows."""
    found: Database = request.getfixturevalue(f"{request.param}_db")
    found.truncate()
    return found


@pytest.fixture
def pg_database(postgresql_db: Database) -> Database:
    postgresql_db.truncate()
    return postgresql_db


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(name: str = "receiver", **options: Any) -> Receiver:
        receiver = Receiver(name, **options)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    made = Workers(tmp_path)
    yield made
    made.close()
