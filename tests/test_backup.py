"""A restore, rehearsed on each backend: `flask backup` taken while a client writes, restored
into a new database as docs/operations.md says, and the restored instance answers the same
documents with the same ETags (a checklist that stood still, and every revision the backup
caught of the one being written)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from databases import fresh_postgres_database
from factories import assign, create_person, create_project
from flask import Flask
from sqlalchemy.engine import make_url

KEY = "data-scientist.collect-and-preprocess-data"


class Writer(threading.Thread):
    """A client writing through the served API until stopped: a new note on an item, again
    and again, each a new revision of the checklist."""

    def __init__(self, base: str, token: str, project_id: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{base}/v1/projects/{project_id}/checklist/items/{KEY}"
        self.token = token
        self.stop = threading.Event()
        self.written = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            body = json.dumps({"note": f"Note {self.written}"}).encode()
            request = urllib.request.Request(  # noqa: S310 - the loopback server of this test
                self.url,
                data=body,
                method="PATCH",
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                    assert answer.status == 200
                self.written += 1
            except Exception as error:
                self.errors.append(repr(error))
                return


@contextmanager
def _restored(app: Flask, app_with: Any, backup: Path, tmp_path: Path) -> Iterator[Flask]:
    """The backup restored into a new database, as docs/operations.md does it."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Restore: the backup file is the database (copied into place while nothing runs).
        restored = tmp_path / "restored.db"
        restored.write_bytes(backup.read_bytes())
        yield app_with(database_url=f"sqlite:///{restored}")
        return
    with fresh_postgres_database("test_restore") as url:
        libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        pg_restore = shutil.which("pg_restore") or "pg_restore"
        result = subprocess.run(  # noqa: S603 - pg_restore with our own arguments
            [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={libpq}", str(backup)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        yield app_with(database_url=url)


@pytest.fixture
def two_projects(api) -> dict[str, Any]:
    ada = create_person(api, name="Ada Lovelace")
    projects = {}
    for name in ("Busy notes", "Quiet notes"):
        project = create_project(api, name=name, application="healthcare-solutions")
        assign(api, project, "data-scientist", ada, allocation=40)
        assert api.post(f"/v1/projects/{project['id']}/checklist").status_code == 201
        projects[name] = project
    return projects


def test_a_backup_taken_under_load_restores_the_same_answers(
    app, app_with, api, served, runner, two_projects, tmp_path
):
    busy, quiet = two_projects["Busy notes"], two_projects["Quiet notes"]
    writer = Writer(served, api.token, busy["id"])
    writer.start()
    try:
        while writer.written < 5 and not writer.errors:
            threading.Event().wait(0.05)
        before = writer.written
        backup = tmp_path / "staffing.backup"
        result = runner.invoke(args=["backup", str(backup)])
        assert result.exit_code == 0, result.output
        during = writer.written
        while writer.written < during + 5 and not writer.errors:
            threading.Event().wait(0.05)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert not writer.errors, writer.errors
    assert writer.written > during >= before >= 5  # it wrote before, around and after
    assert "backed up to" in result.output

    with _restored(app, app_with, backup, tmp_path) as restored:
        other = restored.test_client()
        headers = {"Authorization": f"Bearer {api.token}"}
        assert other.get("/readyz").status_code == 200  # at the head migration
        # What stood still is the same, to the byte and the ETag.
        for path in (
            f"/v1/projects/{quiet['id']}/checklist",
            f"/v1/projects/{quiet['id']}/checklist.md",
            f"/v1/projects/{quiet['id']}",
            "/v1/people",
        ):
            here, there = api.get(path), other.get(path, headers=headers)
            assert there.status_code == 200, there.get_data(as_text=True)
            assert (there.get_data(), there.headers.get("ETag")) == (
                here.get_data(),
                here.headers.get("ETag"),
            ), path
        # What was being written is as it stood at one revision, every revision up to it kept
        # as the source keeps it.
        caught = other.get(f"/v1/projects/{busy['id']}/checklist", headers=headers).json
        now = api.get(f"/v1/projects/{busy['id']}/checklist").json
        assert 1 < caught["revision"] < now["revision"]
        for revision in (1, caught["revision"]):
            path = f"/v1/projects/{busy['id']}/checklist/revisions/{revision}"
            here, there = api.get(path), other.get(path, headers=headers)
            assert there.status_code == 200, there.get_data(as_text=True)
            assert (there.get_data(), there.headers.get("ETag")) == (
                here.get_data(),
                here.headers.get("ETag"),
            ), path
        missing = other.get(
            f"/v1/projects/{busy['id']}/checklist/revisions/{caught['revision'] + 1}",
            headers=headers,
        )
        assert missing.status_code == 404


def test_a_backup_never_overwrites_a_file(runner, tmp_path):
    existing = tmp_path / "kept.backup"
    existing.write_text("mine")

    result = runner.invoke(args=["backup", str(existing)])

    assert result.exit_code != 0 and "exists" in result.output
    assert existing.read_text() == "mine"
