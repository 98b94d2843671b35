"""A read commits nothing: not a lapsed waiver (it is shown, and recorded later), not the
key's last use (written in a batch of its own, at most once an interval); a write commits once.
Counted at the database connection: COMMITs and ROLLBACKs the application sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from checklist_support import generate, item_path, lapse_waiver, patch_item, staffed_project
from factories import create_person
from flask import Flask
from sqlalchemy import event, select, update

from app.extensions import db
from app.http.key_use import key_use_log
from app.models import ApiKey, ChecklistItem, utcnow
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


def test_reads_commit_nothing(app, api, project, endings):
    path = f"/v1/projects/{project['id']}/checklist"
    etag = api.get(path).headers["ETag"]

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


def test_the_keys_use_is_written_in_a_batch_outside_the_requests(app, api, endings, monkeypatch):
    earlier = utcnow() - timedelta(minutes=5)
    with app.app_context():
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.secret_hash == hash_token(api.token))
            .values(last_used_at=earlier)
        )
        db.session.commit()
    uses = key_use_log(app)

    with endings() as seen:
        assert api.get("/v1/people").status_code == 200
        assert api.get("/v1/people").status_code == 200
    # Noted, not written: the interval has not passed.
    assert seen.commits == 0
    assert _last_used(app, api.token) == earlier
    assert max(uses.pending().values()) > earlier

    monkeypatch.setattr(uses, "interval", 0)  # as if the interval had passed
    with endings() as seen:
        assert api.get("/v1/people").status_code == 200
    # The batch, at the request's teardown, in a transaction of its own.
    assert seen.commits == 1
    used = _last_used(app, api.token)
    assert used is not None and used > earlier
    assert (utcnow() - used).total_seconds() < 60
    assert uses.pending() == {}


def test_a_batch_never_moves_a_keys_last_use_back(app, api):
    later = utcnow() + timedelta(minutes=5)  # written by another process, after ours
    with app.app_context():
        key_id = db.session.scalar(
            select(ApiKey.id).where(ApiKey.secret_hash == hash_token(api.token))
        )
        db.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=later))
        db.session.commit()
        uses = key_use_log(app)
        uses.note(key_id, utcnow())

        assert uses.write(db.engine) == 1

    assert _last_used(app, api.token) == later


def _waiver_expired_yesterday(app: Flask, api: Any, project: dict[str, Any]) -> None:
    """Waive the item (until tomorrow, as the API allows), then move its expiry to yesterday:
    the next read of it finds the waiver due."""
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    waived = patch_item(
        api, project, KEY, {"waiver": {"reason": "Waived until the audit", "expires_on": tomorrow}}
    )
    assert waived.json["status"] == "waived"
    lapse_waiver(app, project["id"], KEY)


def test_a_read_of_a_lapsed_waiver_commits_nothing(app, api, project, endings):
    _waiver_expired_yesterday(app, api, project)

    with endings() as seen:
        item = api.get(item_path(project, KEY)).json
        checklist = api.get(f"/v1/projects/{project['id']}/checklist").json

    assert item["status"] == "open" and item["waiver"]["expired"] is True
    assert {i["key"]: i["status"] for i in checklist["items"]}[KEY] == "open"
    assert seen.commits == 0
    with app.app_context():
        stored = db.session.scalar(
            select(ChecklistItem.status).where(
                ChecklistItem.project_id == project["id"], ChecklistItem.key == KEY
            )
        )
    assert stored == "waived"


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
    etag = api.get(path).headers["ETag"]
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
        assert not any(_writes(sql) for sql in seen.statements), seen.statements

    with count_queries() as seen:
        create_person(api)
    assert seen.count and not any(seen.in_autocommit), seen.statements
