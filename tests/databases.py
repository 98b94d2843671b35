"""A PostgreSQL database of a test run's own: created on the server of `TEST_POSTGRES_URL`,
dropped afterwards; skipped when the server is unreachable, failed instead with
`REQUIRE_POSTGRES=1` (as in CI). Shared by the suite's fixtures, the concurrency races and the
webhook end-to-end tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


@contextmanager
def fresh_postgres_database(prefix: str = "test_staffing") -> Iterator[str]:
    """Create a database named `<prefix>_<pid>_<random>`; yield its psycopg 3 URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
            yield url.render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database_like(app_url: str, tmp_path: Path, prefix: str = "test_fresh") -> Iterator[str]:
    """An empty database of the same backend as `app_url`: a new file in `tmp_path` for SQLite,
    a database of its own (dropped afterwards) on the PostgreSQL server."""
    if app_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / f'{prefix}.db'}"
    else:
        with fresh_postgres_database(prefix) as url:
            yield url
