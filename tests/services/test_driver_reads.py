"""Reads run straight on the driver (`app.services.driver_reads`, the fast path's): the
statements the views run, compiled once, answer what SQLAlchemy's execution answers, on
SQLite and PostgreSQL; a statement whose values SQLAlchemy would convert is refused; a
connection always goes back to the pool, outside any transaction."""

from __future__ import annotations

from typing import Any

import pytest
from api.checklist_support import generate, staffed_project
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.dialects.sqlite import pysqlite

from app.extensions import db
from app.models import Checklist, ChecklistItem, Project
from app.services.catalog.store import latest_version, latest_version_read
from app.services.checklists.reads import (
    checklist_header,
    checklist_header_read,
)
from app.services.driver_reads import DriverReads, DriverStatement

DIALECTS = {"sqlite": pysqlite.dialect(), "postgresql": pg_psycopg.dialect()}
_BY_SLUG = select(Project.id, Project.name).where(
    Project.team_id == bindparam("team_id"), Project.slug == bindparam("ref")
)


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_parameters_go_in_the_drivers_style_with_the_values_sqlalchemy_bound(name: str):
    statement = DriverStatement(_BY_SLUG.limit(1), DIALECTS[name])
    parameters = statement.parameters({"ref": "chat", "team_id": "team_1"})
    if name == "sqlite":  # qmark: positional, in the SQL's order, LIMIT's and OFFSET's last
        assert statement.sql.count("?") == 4
        assert parameters == ("team_1", "chat", 1, 0)
    else:  # psycopg: named
        assert "%(team_id)s" in statement.sql and "%(param_1)s" in statement.sql
        assert parameters == {"team_id": "team_1", "ref": "chat", "param_1": 1}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_missing_or_unknown_parameters_are_refused(name: str):
    statement = DriverStatement(_BY_SLUG, DIALECTS[name])
    with pytest.raises(ValueError, match="team_id"):
        statement.parameters({"ref": "chat"})
    with pytest.raises(ValueError, match="ref"):
        statement.parameters({"ref": "chat", "team_id": "t", "other": 1})


def test_a_column_the_driver_would_give_otherwise_is_refused():
    # SQLite keeps a datetime as text: SQLAlchemy parses it, the driver would not.
    with pytest.raises(ValueError, match="created_at"):
        DriverStatement(select(Project.created_at), DIALECTS["sqlite"])


def test_a_parameter_sqlalchemy_would_convert_is_refused():
    statement = select(Project.id).where(
        Project.created_at > bindparam("since", type_=Project.created_at.type)
    )
    with pytest.raises(ValueError, match="since"):
        DriverStatement(statement, DIALECTS["sqlite"])


def _engine(app: Any) -> Engine:
    with app.app_context():
        return db.engine


def test_the_header_and_the_catalogs_version_are_what_sqlalchemy_reads(app, api):
    project, _ = staffed_project(api)
    generate(api, project, status=201)
    engine = _engine(app)
    reads = DriverReads(engine)
    header, latest = checklist_header_read(reads), latest_version_read(reads)
    with app.app_context():
        for ref in (project["id"], project["slug"]):
            expected = checklist_header(db.session, api.team_id, ref)
            assert expected is not None
            assert header(api.team_id, ref) == expected
            assert type(header(api.team_id, ref).state) is int  # type: ignore[union-attr]
        assert header("team_other", project["id"]) is None  # another team's: none
        assert header(api.team_id, "prj_missing") is None
        assert latest() == latest_version(db.session) is not None
        db.session.rollback()
    assert engine.pool.checkedout() == 0


def test_a_failed_read_returns_its_connection_outside_a_transaction(app, api):
    engine = _engine(app)
    reads = DriverReads(engine)
    broken = reads.compiled(
        select(ChecklistItem.key).where(ChecklistItem.key == bindparam("key")).limit(1)
    )
    broken.sql = broken.sql.replace("checklist_items", "no_such_table")
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        reads.first(broken, {"key": "x"})
    assert engine.pool.checkedout() == 0
    # The next read takes a pooled connection that works, in the ORM's transaction mode.
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is False
        assert connection.execute(select(Checklist.id).limit(1)).all() == []
