"""A team's export (`GET /v1/export`, `flask teams export`) and its import (`flask teams import`)
into a fresh database of the same backend: the same checklists come back (items, statuses,
revisions, ETags), no secret leaves, nothing of another team is in it, and a file that cannot be
imported imports nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from checklist_support import generate, in_days, patch_item
from databases import fresh_database_like
from factories import assert_problem, assign, create_person, create_project
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import inspect, select

from app.extensions import db
from app.models import Base, Checklist, Team, WebhookEndpoint
from app.services.catalog.store import seed_catalog
from app.services.context import Context
from app.services.directory import teams
from app.services.export import BY_TYPE, NOT_EXPORTED, TABLES
from app.services.migrations import MIGRATIONS_DIR
from seed.loader import load_catalog

PIA = "data-privacy.privacy-impact-assessment"
KEY = "data-scientist.collect-and-preprocess-data"


@pytest.fixture
def team(api, other_api) -> dict[str, Any]:
    """A clinic worked for a while: staffed, generated, an item done, a gate signed off with a
    personal key, a waiver, a release, a webhook endpoint and an integration; and another
    team's project, which must never show."""
    clinic = create_project(api, name="Clinic notes", application="healthcare-solutions")
    ada = create_person(api, name="Ada Lovelace", email="ada@example.com")
    grace = create_person(api, name="Grace Hopper", email="grace@example.com")
    assign(api, clinic, "data-scientist", ada, allocation=60, lead=True)
    assign(api, clinic, "ai-ethicist", grace, allocation=30)
    # A critical waiver in a regulated domain is the Accountable Executive's: Grace is that too.
    assign(api, clinic, "accountable-executive", grace)
    generate(api, clinic, 201)
    assert patch_item(api, clinic, KEY, {"status": "done"}).status_code == 200
    waiver = {
        "reason": "Covered by the hospital's DPIA",
        "expires_on": in_days(20),
        "residual_risk": "A flow the hospital's DPIA misses",
    }
    waived = patch_item(api.as_person(grace["id"]), clinic, PIA, {"waiver": waiver})
    assert waived.status_code == 200, waived.json
    model = {"name": "gpt-4o", "version": "2024-08-06", "provider": "openai"}
    releases = f"/v1/projects/{clinic['id']}/releases"
    opened = api.post(releases, json={"version": "1.0", "model": model})
    assert opened.status_code == 201, opened.json
    endpoint = api.post(
        "/v1/webhooks", json={"url": "https://93.184.216.34/hook", "event_types": ["*"]}
    ).json
    integration = api.post("/v1/integrations", json={"provider": "github", "name": "acme/app"}).json
    share = api.post(f"/v1/projects/{clinic['id']}/checklist/shares", json={}).json
    theirs = create_project(other_api, name="Their secret project", application="other")
    return {
        "clinic": clinic,
        "secrets": [endpoint["secret"], integration["secret"], api.token, share["url"]],
        "theirs": theirs,
    }


def _export(api: Any) -> list[dict[str, Any]]:
    response = api.get("/v1/export")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Cache-Control"] == "private, no-store"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


@contextmanager
def _fresh_app(app: Flask, app_with: Any, tmp_path: Path) -> Iterator[Flask]:
    """An application on an empty database of the same backend, migrated and seeded."""
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, "test_import") as url:
        other = app_with(database_url=url)
        with other.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            seed_catalog(db.session, load_catalog())
            db.session.commit()
        yield other
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def _import(target: Flask, path: Path) -> Any:
    return target.test_cli_runner().invoke(args=["teams", "import", str(path)])


def _key(target: Flask, team_id: str) -> str:
    with target.app_context():
        team = db.session.get(Team, team_id)
        _, token = teams.create_key(db.session, Context("cli"), team, ["read", "write", "admin"])
        db.session.commit()
    return token


def test_an_import_gives_back_the_same_checklists_revisions_and_etags(
    app, app_with, api, team, tmp_path
):
    lines = _export(api)
    path = tmp_path / "team.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    with _fresh_app(app, app_with, tmp_path) as target:
        result = _import(target, path)
        assert result.exit_code == 0, result.output
        assert f"imported team {lines[0]['data']['team']['slug']}" in result.output
        other = target.test_client()
        token = _key(target, api.team_id)
        headers = {"Authorization": f"Bearer {token}"}
        for path_ in (
            f"/v1/projects/{team['clinic']['id']}/checklist",
            f"/v1/projects/{team['clinic']['id']}/checklist/revisions",
            f"/v1/projects/{team['clinic']['id']}/checklist.md",
            f"/v1/projects/{team['clinic']['id']}/releases",
            "/v1/people",
            f"/v1/projects/{team['clinic']['slug']}",
        ):
            here, there = api.get(path_), other.get(path_, headers=headers)
            assert there.status_code == 200, (path_, there.get_data(as_text=True))
            assert there.get_data() == here.get_data(), path_
            assert there.headers.get("ETag") == here.headers.get("ETag"), path_
        checklist = other.get(f"/v1/projects/{team['clinic']['id']}/checklist", headers=headers)
        items = {i["key"]: i for i in checklist.json["items"]}
        assert items[KEY]["status"] == "done" and items[PIA]["status"] == "waived"
        # The events came too (the feed is the same), and the new key's creation after them.
        feed = other.get("/v1/events?limit=200", headers=headers).json["items"]
        mine = api.get("/v1/events?limit=200").json["items"]
        assert [e["id"] for e in feed][1:] == [e["id"] for e in mine]
        # Endpoints come disabled with a secret nobody has; rotating gives one.
        with target.app_context():
            (endpoint,) = db.session.scalars(select(WebhookEndpoint)).all()
            assert endpoint.enabled is False and "rotate" in endpoint.disabled_reason
            assert endpoint.secret not in team["secrets"]
        rotated = other.post(f"/v1/webhooks/{endpoint.id}/rotate-secret", headers=headers)
        assert rotated.status_code == 200, rotated.json


def test_the_export_holds_no_secret_and_nothing_of_another_team(app, api, team):
    text = api.get("/v1/export").get_data(as_text=True)

    for secret in team["secrets"]:
        assert secret not in text
    token = team["secrets"][3].rsplit("/", 1)[-1]
    assert token not in text
    with app.app_context():
        hashes = db.session.execute(select(Base.metadata.tables["api_keys"].c.secret_hash)).all()
        share_hashes = db.session.execute(
            select(Base.metadata.tables["checklist_shares"].c.token_hash)
        ).all()
    for (digest,) in hashes + share_hashes:
        assert digest not in text
    assert team["theirs"]["id"] not in text and "Their secret project" not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert {r["data"].get("team_id", api.team_id) for r in records[1:-1]} == {api.team_id}
    assert records[-1] == {"type": "end", "data": {"records": len(records) - 2}}
    for record in records:
        if record["type"] in ("webhook_endpoint", "integration"):
            assert "secret" not in record["data"] and "previous_secret" not in record["data"]


def test_the_cli_writes_the_export_the_api_streams(app, api, team, runner):
    result = runner.invoke(args=["teams", "export", api.team_id])

    assert result.exit_code == 0, result.output
    by_cli = [json.loads(line) for line in result.output.splitlines()]
    by_api = _export(api)
    for records in (by_cli, by_api):
        records[0]["data"].pop("exported_at")
    assert by_cli == by_api
    missing = runner.invoke(args=["teams", "export", "nobody"])
    assert missing.exit_code != 0 and "No team 'nobody'" in missing.output


def test_exporting_needs_an_admin_key(make_api, team):
    writer = make_api(scopes=("read", "write"))

    problem = assert_problem(writer.get("/v1/export"), 403)
    assert "admin" in problem["detail"]


def test_every_table_of_a_team_is_exported_or_said_not_to_be():
    tables = {t.name for t in Base.metadata.sorted_tables if not t.name.startswith("catalog_")}
    exported = {e.table.name for e in TABLES}

    assert exported.isdisjoint(NOT_EXPORTED)
    assert tables - {"teams"} == exported | set(NOT_EXPORTED)
    # Parents before children: each table's references are to tables exported before it.
    order = [e.table.name for e in TABLES]
    for position, exported_table in enumerate(TABLES):
        for fk in exported_table.table.foreign_keys:
            parent = fk.column.table.name
            if parent in order:
                assert order.index(parent) < position, (exported_table.type, parent)
    assert set(BY_TYPE) == {e.type for e in TABLES}


def _written(target: Flask) -> dict[str, int]:
    with target.app_context():
        names = inspect(db.engine).get_table_names()
        counts = {}
        for name in names:
            if name.startswith(("catalog_", "alembic")):
                continue
            table = Base.metadata.tables[name]
            counts[name] = len(db.session.execute(select(table)).all())
        return counts


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda lines: lines[:-1], "cut short"),
        (lambda lines: lines[:-3] + lines[-2:], "records, the file holds"),
        (lambda lines: [lines[0], "{not json", *lines[1:]], "Line 2: not JSON"),
        (lambda lines: [lines[0], '{"type": "spaceship", "data": {}}', *lines[1:]], "unknown"),
        (
            lambda lines: [_with_header(lines[0], migration="0001"), *lines[1:]],
            "exported at migration 0001",
        ),
        (
            lambda lines: [_with_header(lines[0], catalog_version="sha256:0"), *lines[1:]],
            "exported with catalog sha256:0",
        ),
        (lambda lines: list(reversed(lines)), "Line 1: not an export"),
        (lambda lines: [lines[0], *reversed(lines[1:-1]), lines[-1]], "out of order"),
        (lambda lines: [], "Line 1: not an export"),
    ],
)
def test_a_file_that_cannot_be_imported_imports_nothing(
    app, app_with, api, team, tmp_path, spoil, message
):
    lines = api.get("/v1/export").get_data(as_text=True).splitlines()
    path = tmp_path / "spoilt.ndjson"
    path.write_text("".join(line + "\n" for line in spoil(lines)))

    with _fresh_app(app, app_with, tmp_path) as target:
        before = _written(target)
        result = _import(target, path)

        assert result.exit_code != 0
        assert "Nothing was imported" in result.output and message in result.output
        assert "Traceback" not in result.output
        assert _written(target) == before


def test_an_instance_without_the_catalog_imports_nothing_and_says_to_seed(
    app, app_with, api, team, tmp_path
):
    """Its projects and staffing name the catalog's applications and roles: an instance
    migrated but not seeded is told so, not given a foreign key's error."""
    path = tmp_path / "team.ndjson"
    path.write_text(api.get("/v1/export").get_data(as_text=True))
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, "unseeded") as url:
        target = app_with(database_url=url)
        with target.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
        before = _written(target)

        result = _import(target, path)

        assert result.exit_code != 0
        assert "catalog is none (run `flask seed` first)" in result.output
        assert _written(target) == before
        with target.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_team_already_here_is_not_imported_again(app, api, team, tmp_path):
    path = tmp_path / "team.ndjson"
    path.write_text(api.get("/v1/export").get_data(as_text=True))
    with app.app_context():
        before = db.session.scalar(select(Checklist.revision))

    result = _import(app, path)

    assert result.exit_code != 0 and "already here" in result.output
    with app.app_context():
        assert db.session.scalar(select(Checklist.revision)) == before


def _with_header(line: str, **fields: str) -> str:
    header = json.loads(line)
    header["data"].update(fields)
    return json.dumps(header)


def test_an_export_is_one_snapshot_and_writers_go_on_while_it_streams(api, team):
    """The stream is read after its request has answered: it must neither hold SQLite's write
    lock (a write meanwhile would wait for the busy timeout) nor see what is written after it
    began."""
    streamed = api.get("/v1/export", buffered=False)
    lines = iter(streamed.response)
    header = json.loads(next(lines))
    assert header["type"] == "export"

    started = time.monotonic()
    written = patch_item(api, team["clinic"], KEY, {"note": "Written while the export streams"})
    took = time.monotonic() - started

    assert written.status_code == 200, written.json
    assert took < 5, took  # not the busy timeout of a writer waiting for the lock
    records = [json.loads(line) for line in b"".join(lines).decode().splitlines()]
    streamed.close()
    (item,) = [
        r["data"] for r in records if r["type"] == "checklist_item" and r["data"]["key"] == KEY
    ]
    assert item["note"] != "Written while the export streams"
    assert records[-1]["type"] == "end"
