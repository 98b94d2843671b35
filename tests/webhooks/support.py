"""The machinery of the webhook end-to-end tests: the database and the API a test works on,
the delivery worker as a real process, waiting, and verifying deliveries.

- `Database`: a fresh database (SQLite file or PostgreSQL database of its own), migrated and
  seeded, with the in-process API (a Flask test client of an application on it that allows
  private webhook targets: the receivers are on loopback).
- `Api`: a team's API key on that application; every helper asserts the status it expects.
- `Workers`: `flask webhooks worker [--once]` processes on the database, their output in log
  files; whatever is still running at the end is stopped (SIGTERM, then SIGKILL).
- `verify`: a delivery checked with the reference `standardwebhooks` package.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography.fernet import Fernet
from databases import fresh_postgres_database
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Base
from app.services.catalog.store import seed_catalog
from app.services.context import Context
from app.services.directory import teams
from app.services.migrations import MIGRATIONS_DIR
from seed.loader import load_catalog

from .receiver import Received

ROOT = Path(__file__).resolve().parents[2]
# Links in events are built from this: the tests check they are absolute and start with it.
PUBLIC_BASE_URL = "https://checklists.example.test"
USER_AGENT = "staffing-checklist-webhooks/1"
# The key native tickets' tokens are encrypted with, the API's and the workers' (this run's).
TICKETS_KEY = Fernet.generate_key().decode("ascii")
# Every worker of these tests: loopback receivers, a short schedule (1 s, 1 s, 2 s: four
# attempts in about 4 s) and a 2 s deadline per attempt.
WORKER_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    "WEBHOOK_RETRY_SCHEDULE": "1,1,2",
    "WEBHOOK_TIMEOUT": "2",
    "WEBHOOK_CONNECT_TIMEOUT": "1",
    "WEBHOOK_WORKER_CONCURRENCY": "8",
    "LOG_LEVEL": "WARNING",
    "TICKETS_ENCRYPTION_KEY": TICKETS_KEY,
}
# The longest any wait of these tests lasts before failing.
WAIT_TIMEOUT = 30.0
WORKER_ONCE_TIMEOUT = 60.0

T = TypeVar("T")


# --------------------------------------------------------------------------- waiting


def wait_until(
    probe: Callable[[], T], what: str, *, timeout: float = WAIT_TIMEOUT, interval: float = 0.05
) -> T:
    """Call `probe` until it returns something truthy; that value. Fails after `timeout`
    with `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}; last: {last!r}"
            )
        time.sleep(interval)


def settle(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float = WAIT_TIMEOUT,
    interval: float = 0.05,
) -> T:
    """`probe()` once `done` holds for it, or its last value after `timeout`: for a state
    that a failing test never reaches, and whose own assertions then say what went wrong."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def next_second() -> None:
    """Sleep until the wall clock's whole second changes (webhook-timestamp is in seconds)."""
    now = time.time()
    time.sleep(int(now) + 1.05 - now)


# --------------------------------------------------------------------------- verifying


def verify(request: Received, secret: str) -> dict[str, Any]:
    """The message of a delivery, verified by the reference Standard Webhooks library with
    `secret` (raises `WebhookVerificationError` if the signature or timestamp is bad)."""
    return Webhook(secret).verify(request.body, request.headers)


def verifies(request: Received, secret: str) -> bool:
    try:
        verify(request, secret)
    except Exception:
        return False
    return True


def signatures(request: Received) -> list[str]:
    return (request.header("webhook-signature") or "").split()


# --------------------------------------------------------------------------- database


@dataclass
class Database:
    """A migrated, seeded database and the in-process API application on it."""

    backend: str
    url: str  # SQLAlchemy URL, also given to the worker as DATABASE_URL
    app: Flask

    def truncate(self) -> None:
        """Remove every row but the catalog's (no worker may be running)."""
        with self.app.app_context():
            db.session.remove()
            tables = [t for t in Base.metadata.sorted_tables if not t.name.startswith("catalog_")]
            with db.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in tables)
                    connection.execute(text(f"TRUNCATE {names} CASCADE"))
                else:
                    for table in reversed(tables):
                        connection.execute(table.delete())

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.app.app_context(), db.engine.begin() as connection:
            return connection.execute(text(sql), params).scalar()

    def execute(self, sql: str, **params: Any) -> int:
        with self.app.app_context(), db.engine.begin() as connection:
            return connection.execute(text(sql), params).rowcount

    def api(self, team: str | None = None) -> Api:
        """A new team (a unique name unless given) and a key of it with every scope."""
        name = team or f"Hooks {secrets.token_hex(3)}"
        with self.app.app_context():
            ctx = Context("cli")
            created = teams.create_team(db.session, ctx, name)
            _, token = teams.create_key(db.session, ctx, created, ("read", "write", "admin"), "e2e")
            db.session.commit()
            return Api(self.app, token, created.id)

    def nudge_workers(self) -> None:
        """On PostgreSQL, the NOTIFY a commit with new deliveries sends: an idle worker wakes
        at once (it waits on it for up to 5 s otherwise, SIGTERM or not)."""
        if self.backend == "postgresql":
            self.execute("SELECT pg_notify('webhook_deliveries', '')")

    def dispose(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def build_app(url: str) -> Flask:
    settings = dataclasses.replace(
        Settings.from_env(),
        database_url=url,
        rate_limit="1000000 per minute",
        webhook_allow_private_targets=True,
        webhook_require_https=False,
        public_base_url=PUBLIC_BASE_URL,
        tickets_encryption_key=TICKETS_KEY,
    )
    app = create_app(settings, {"TESTING": True})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        seed_catalog(db.session, load_catalog())
        db.session.commit()
    return app


@contextmanager
def sqlite_database(directory: Path) -> Iterator[Database]:
    url = f"sqlite:///{directory / 'webhooks.db'}"
    database = Database("sqlite", url, build_app(url))
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def postgres_database() -> Iterator[Database]:
    """A PostgreSQL database of its own, dropped afterwards; skipped (or failed with
    REQUIRE_POSTGRES=1) when the server is unreachable."""
    with fresh_postgres_database("test_webhooks") as url:
        database = Database("postgresql", url, build_app(url))
        try:
            yield database
        finally:
            database.dispose()


# --------------------------------------------------------------------------- the API


class Api:
    """One team's key on the in-process application; helpers assert the expected status."""

    def __init__(self, app: Flask, token: str, team_id: str) -> None:
        self.client = app.test_client()
        self.token = token
        self.team_id = team_id

    def request(self, method: str, path: str, *, expect: int | None = None, **kwargs: Any):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:2000]}"
            )
        return response

    def get(self, path: str, expect: int | None = 200, **kwargs: Any) -> Any:
        return self.request("GET", path, expect=expect, **kwargs).json

    def post(self, path: str, json: Any = None, expect: int | None = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, expect=expect, **kwargs)

    def patch(self, path: str, json: Any = None, expect: int | None = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, json=json, expect=expect, **kwargs)

    def put(self, path: str, json: Any = None, expect: int | None = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, expect=expect, **kwargs)

    def all_pages(self, path: str, **query: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(100):
            params = {"limit": 200, **query, **({"cursor": cursor} if cursor else {})}
            page = self.get(path, query_string=params)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items
        raise AssertionError(f"{path}: more than 100 pages")

    # -- webhooks ------------------------------------------------------------------------------

    def create_endpoint(self, url: str, event_types: list[str], **fields: Any) -> dict[str, Any]:
        """POST /v1/webhooks; the answer holds the secret (shown only this once)."""
        body = {"url": url, "event_types": event_types, **fields}
        endpoint = self.post("/v1/webhooks", body, expect=201).json
        assert endpoint["secret"].startswith("whsec_"), endpoint
        return endpoint

    def endpoint(self, endpoint_id: str) -> dict[str, Any]:
        return self.get(f"/v1/webhooks/{endpoint_id}")

    def deliveries(self, endpoint_id: str, **query: Any) -> list[dict[str, Any]]:
        return self.all_pages(f"/v1/webhooks/{endpoint_id}/deliveries", **query)

    def delivery(self, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
        return self.get(f"/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}")

    def ping(self, endpoint_id: str) -> dict[str, Any]:
        return self.post(f"/v1/webhooks/{endpoint_id}/ping", expect=202).json

    def events(self, **query: Any) -> list[dict[str, Any]]:
        return self.all_pages("/v1/events", **query)

    # -- the domain ----------------------------------------------------------------------------

    def create_person(self, name: str | None = None) -> dict[str, Any]:
        n = secrets.token_hex(4)
        body = {"name": name or f"Person {n}", "email": f"person.{n}@example.com"}
        return self.post("/v1/people", body, expect=201).json

    def staffed_project(self, name: str) -> dict[str, Any]:
        """A project with the key roles staffed and its checklist generated."""
        project = self.post(
            "/v1/projects",
            {"name": name, "application": "healthcare-solutions", "traits": {"user_facing": True}},
            expect=201,
        ).json
        people = [
            ("data-scientist", "Ada Lovelace"),
            ("machine-learning-engineer", "Alan Turing"),
            ("ai-ethicist", "Grace Hopper"),
        ]
        suffix = secrets.token_hex(3)
        self.put(
            f"/v1/projects/{project['id']}/assignments",
            {
                "assignments": [
                    {
                        "role": role,
                        "person": {
                            "name": person,
                            "email": f"{person.split()[0].lower()}.{suffix}@example.com",
                        },
                    }
                    for role, person in people
                ]
            },
            expect=200,
        )
        self.post(f"/v1/projects/{project['id']}/checklist", expect=201)
        return project

    def patch_item(self, project: dict[str, Any], key: str, body: dict[str, Any]) -> Any:
        return self.patch(
            f"/v1/projects/{project['id']}/checklist/items/{key}", body, expect=200
        ).json


# --------------------------------------------------------------------------- the worker


def _flask_command() -> list[str]:
    script = Path(sys.executable).with_name("flask")
    return [str(script)] if script.exists() else [sys.executable, "-m", "flask"]


@dataclass
class WorkerProcess:
    """A `flask webhooks worker` process."""

    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    database: Database

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_started(self, timeout: float = WAIT_TIMEOUT) -> str:
        """Until it says it is delivering; its worker id."""

        def started() -> str | None:
            assert self.alive(), f"the worker exited ({self.process.returncode}):\n{self.log()}"
            for line in self.log().splitlines():
                if line.startswith("webhook worker ") and line.endswith(" delivering"):
                    return line.split()[2]
            return None

        return wait_until(started, "the worker to start", timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: the worker dies at once, whatever it was doing."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0, *, nudge: bool = True) -> float:
        """SIGTERM, as an operator stops it (and, unless `nudge` is false, a NOTIFY to end
        its wait at once on PostgreSQL); seconds it took to exit (SIGKILL after `timeout`)."""
        started = time.monotonic()
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            if nudge:
                self.database.nudge_workers()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return time.monotonic() - started


class Workers:
    """Starts delivery workers on a database; `close()` stops every one still running."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[WorkerProcess] = []

    def env(self, database: Database, **overrides: str | None) -> dict[str, str]:
        env = {**os.environ, **WORKER_ENV, "DATABASE_URL": database.url}
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def _spawn(self, database: Database, args: list[str], overrides: dict) -> WorkerProcess:
        env = self.env(database, **overrides)
        log_path = self.log_dir / f"worker-{len(self.started) + 1}-{secrets.token_hex(2)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [*_flask_command(), "webhooks", "worker", *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log_path, env, database)
        self.started.append(worker)
        return worker

    def start(self, database: Database, **overrides: str | None) -> WorkerProcess:
        """A long-running worker (`flask webhooks worker`)."""
        return self._spawn(database, [], overrides)

    def once(self, database: Database, **overrides: str | None) -> int:
        """`flask webhooks worker --once`: deliver what is due now; the attempts it made."""
        worker = self._spawn(database, ["--once"], overrides)
        try:
            code = worker.process.wait(timeout=WORKER_ONCE_TIMEOUT)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise AssertionError(
                f"worker --once still running after 60 s:\n{worker.log()}"
            ) from None
        output = worker.log()
        assert code == 0, f"worker --once exited with {code}:\n{output}"
        last = [line for line in output.splitlines() if line.endswith("delivery attempts made")]
        assert last, output
        return int(last[-1].split()[0])

    def close(self) -> None:
        for worker in self.started:
            if worker.alive():
                worker.stop(timeout=10)


# --------------------------------------------------------------------------- reading back


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def body_of(request: Received) -> dict[str, Any]:
    return json.loads(request.body)
