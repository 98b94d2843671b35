"""A request that wrote nothing ends its transaction with a rollback, not a commit; one that
wrote anything (a change, an expired waiver turned back to open, the key's last use) commits
it. Counted at the database connection: COMMITs and ROLLBACKs the application sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from checklist_support import generate, item_path, patch_item, staffed_project
from factories import create_person
from flask import Flask
from sqlalchemy import event, select, update

from app.extensions import db
from app.models import ApiKey, Checklist, ChecklistItem, utcnow
from app.services.directory.teams import hash_token

KEY = "data-scientist.collect-and-preprocess-data"


class Endings:
    def __init__(self) -> None:
        self.commits = 0
        self.rollbacks = 0


@pytest.fixture
def endings(app: Flask) -> Callable[[], Any]:
    """`with endings() as seen:` counts the transactions the app commits and rolls back."""

    @contextmanager
    def counting() -> Iterator[Endings]:
        seen = Endings()
        with app.app_context():
            engine = db.engine

        def committed(_conn: Any) -> None:
            seen.commits += 1

        def rolled_back(_conn: Any) -> None:
            seen.rollbacks += 1

        event.listen(engine, "commit", committed)
        event.listen(engine, "rollback", rolled_back)
        try:
            yield seen
        finally:
            event.remove(engine, "commit", committed)
            event.remove(engine, "rollback", rolled_back)

    return counting


@pytest.fixture
def project(api):
    created, _ = staffed_project(api)
    generate(api, created, 201)
    return created


def _last_used(app: Flask, token: str) -> datetime | None:
    with app.app_context():
        return db.session.scalar(
            select(ApiKey.last_used_at).where(ApiKey.secret_hash == hash_token(token))
        )


def test_reads_commit_nothing_once_the_keys_use_is_noted(app, api, project, endings):
    path = f"/v1/projects/{project['id']}/checklist"
    etag = api.get(path).headers["ETag"]  # the key's use is noted by now

    with endings() as seen:
        for answer in (
            api.get(path),
            api.get(path, headers={"If-None-Match": etag}),
            api.get("/v1/people"),
            api.get("/v1/catalog"),
            api.get(item_path(project, KEY)),
        ):
            assert answer.status_code in (200, 304)

    assert seen.commits == 0
    assert seen.rollbacks >= 5


def test_a_write_commits(app, api, endings):
    with endings() as seen:
        person = create_person(api)

    assert seen.commits == 1
    assert api.get(f"/v1/people/{person['id']}").status_code == 200


def test_the_first_read_of_a_minute_commits_the_keys_last_use(app, api, endings):
    with app.app_context():
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.secret_hash == hash_token(api.token))
            .values(last_used_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()

    with endings() as seen:
        assert api.get("/v1/people").status_code == 200
        assert api.get("/v1/people").status_code == 200

    assert seen.commits == 1
    used = _last_used(app, api.token)
    assert used is not None
    assert (utcnow() - used).total_seconds() < 60


def _waiver_expired_yesterday(app: Flask, api: Any, project: dict[str, Any]) -> None:
    """Waive the item (until tomorrow, as the API allows), then move its expiry to yesterday:
    the next read of it finds the waiver due."""
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    waived = patch_item(api, project, KEY, {"waiver": {"reason": "Audit", "expires_on": tomorrow}})
    assert waived.json["status"] == "waived"
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    with app.app_context():
        item = db.session.scalar(
            select(ChecklistItem).where(
                ChecklistItem.project_id == project["id"], ChecklistItem.key == KEY
            )
        )
        item.waiver = {**item.waiver, "expires_on": yesterday.isoformat()}
        checklist = db.session.scalar(
            select(Checklist).where(Checklist.project_id == project["id"])
        )
        checklist.next_waiver_expiry = yesterday
        db.session.commit()


def test_a_read_that_expires_a_waiver_commits_it(app, api, project, endings):
    _waiver_expired_yesterday(app, api, project)

    with endings() as seen:
        assert api.get(item_path(project, KEY)).json["status"] == "open"

    assert seen.commits == 1
    with app.app_context():
        stored = db.session.scalar(
            select(ChecklistItem.status).where(
                ChecklistItem.project_id == project["id"], ChecklistItem.key == KEY
            )
        )
    assert stored == "open"


def _writes(statement: str) -> bool:
    head = statement.lstrip().split(None, 1)[0].upper()
    return head in ("INSERT", "UPDATE", "DELETE") or "FOR UPDATE" in statement.upper()


def _postgresql_only(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite keeps a transaction per read (it costs no round trip there)")


def test_reads_on_postgresql_send_no_begin_or_rollback(app, api, project, count_queries):
    _postgresql_only(app)
    path = f"/v1/projects/{project['id']}/checklist"
    etag = api.get(path).headers["ETag"]  # the key's use is noted by now
    reads = (
        lambda: api.get(path, headers={"If-None-Match": etag}),
        lambda: api.get(path + "?format=markdown"),
        lambda: api.get(item_path(project, KEY)),
        lambda: api.get("/v1/people"),
        lambda: api.get("/v1/catalog"),
    )

    for read in reads:
        with count_queries() as seen:
            assert read().status_code in (200, 304)
        assert seen.count, "every read asks the database something"
        assert all(seen.in_autocommit), seen.statements

    with count_queries() as seen:
        create_person(api)
    assert seen.count and not any(seen.in_autocommit), seen.statements


def test_a_read_that_writes_runs_again_as_one_transaction(app, api, project, count_queries):
    _postgresql_only(app)
    _waiver_expired_yesterday(app, api, project)

    with count_queries() as counted:
        assert api.get(item_path(project, KEY)).json["status"] == "open"

    seen = list(zip(counted.statements, counted.in_autocommit, strict=True))
    writes = [autocommit for sql, autocommit in seen if _writes(sql)]
    assert writes, "the expired waiver was written back, with its event"
    assert not any(writes), "every write (and lock) ran inside the transaction"
    assert seen[0][1], "the read began in autocommit"
    first_write = next(i for i, (sql, _) in enumerate(seen) if _writes(sql))
    again = [autocommit for _sql, autocommit in seen[:first_write]]
    assert False in again, "the request ran again from its start, as a transaction"
