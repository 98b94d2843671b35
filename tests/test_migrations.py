"""The migrations build exactly the schema the models describe (and rewrite the data they must),
and /readyz reports the head."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from databases import fresh_database_like
from flask_migrate import upgrade
from sqlalchemy import text

from app.extensions import db
from app.models import Base, CatalogWaiverPolicy, IdempotencyRecord, Person, Team, utcnow
from app.services.migrations import MIGRATIONS_DIR, head_revision
from seed.loader import load_catalog


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)

    assert diff == []


def test_readiness_reports_the_head_revision(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "migration": head_revision(),
        "head": head_revision(),
    }
    assert head_revision()


def test_stored_emails_are_casefolded_unless_two_people_would_share_one(
    app, app_with, tmp_path, caplog
):
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        other = app_with(database_url=url)
        with other.app_context():
            upgrade(directory=str(MIGRATIONS_DIR), revision="0006")
            team_a, team_b = Team(name="A", slug="a"), Team(name="B", slug="b")
            db.session.add_all([team_a, team_b])
            db.session.flush()
            rows = {
                "anna": Person(team_id=team_a.id, name="Anna", email="straße@example.com"),
                "ada": Person(team_id=team_a.id, name="Ada", email="ada@example.com"),
                # Lower-cased, these two were two people; casefolded, they would be one.
                "gruesse": Person(team_id=team_a.id, name="G1", email="grüße@example.com"),
                "gruesse2": Person(team_id=team_a.id, name="G2", email="grüsse@example.com"),
                "anna_b": Person(team_id=team_b.id, name="Anna", email="straße@example.com"),
            }
            db.session.add_all(rows.values())
            db.session.commit()
            before = {key: (p.id, p.version) for key, p in rows.items()}
            db.session.expunge_all()

            with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
                upgrade(directory=str(MIGRATIONS_DIR), revision="0007")

            after = {key: db.session.get(Person, pid) for key, (pid, _) in before.items()}
            emails = {key: person.email for key, person in after.items()}
            versions = {key: after[key].version - before[key][1] for key in after}
        with other.app_context():
            db.engine.dispose()

    assert emails == {
        "anna": "strasse@example.com",
        "ada": "ada@example.com",
        "gruesse": "grüße@example.com",  # left for a person to merge
        "gruesse2": "grüsse@example.com",
        "anna_b": "strasse@example.com",  # another team: no collision
    }
    assert versions == {"anna": 1, "ada": 0, "gruesse": 0, "gruesse2": 0, "anna_b": 1}
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert before["gruesse"][0] in warning and before["gruesse2"][0] in warning


def test_stored_answers_lose_the_secrets_they_held(app, app_with, tmp_path):
    answers = {
        "webhook": '{"id": "whk_1", "url": "https://example.com/h", "secret": "whsec_abc"}',
        "rotation": '{"secret": "whsec_def", "previous_secret_expires_at": null}',
        "person": '{"id": "per_1", "name": "Ada", "email": "ada@example.com"}',
        "a note about secrets": '{"id": "itm_1", "note": "\\"secret\\" is a word"}',
    }
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        other = app_with(database_url=url)
        with other.app_context():
            upgrade(directory=str(MIGRATIONS_DIR), revision="0008")
            team = Team(name="A", slug="a")
            db.session.add(team)
            db.session.flush()
            for key, body in answers.items():
                db.session.add(
                    IdempotencyRecord(
                        team_id=team.id,
                        key=key,
                        fingerprint="0" * 64,
                        status_code=201,
                        response_body=body,
                        response_headers={"Location": f"/v1/{key}"},
                        expires_at=utcnow(),
                    )
                )
            db.session.commit()
            db.session.expunge_all()

            upgrade(directory=str(MIGRATIONS_DIR), revision="0009")

            stored = {
                r.key: (r.status_code, r.response_body) for r in db.session.query(IdempotencyRecord)
            }
        with other.app_context():
            db.engine.dispose()

    assert stored == {
        "webhook": (201, None),
        "rotation": (201, None),
        "person": (201, answers["person"]),
        "a note about secrets": (201, answers["a note about secrets"]),
    }


def test_a_catalog_loaded_before_0012_keeps_the_waiver_policy_it_was_held_to(
    app, app_with, tmp_path
):
    """The policy the code held (until 0011) is the seed catalog's rules, value for value, with
    the accountable roles of then: a catalog loaded before keeps its rules until `flask seed`
    loads the catalog's own."""
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        other = app_with(database_url=url)
        with other.app_context():
            upgrade(directory=str(MIGRATIONS_DIR), revision="0011")
            with db.engine.begin() as connection:
                connection.execute(
                    text("INSERT INTO catalog_versions (version, loaded_at) VALUES (:v, :at)"),
                    {"v": "sha256:before", "at": utcnow()},
                )

            upgrade(directory=str(MIGRATIONS_DIR), revision="0012")

            (row,) = db.session.query(CatalogWaiverPolicy).all()
            stored = {
                name: getattr(row, name)
                for name in ("key", "accountable_roles", "rules", "never_waived")
            }
        with other.app_context():
            db.engine.dispose()

    seeded = load_catalog().waiver_policy
    assert seeded is not None
    assert stored == {
        "key": "waiver-policy",
        # Who accepted risks in the code then; the seed catalog has added the Accountable
        # Executive since (issue 19), which `flask seed` brings.
        "accountable_roles": ["product-manager", "ai-ethicist"],
        "rules": [rule.as_dict() for rule in seeded.rules],
        # The items the policy never waives came with the catalog that has them.
        "never_waived": [],
    }


def _filled(table: sa.Table, **given: object) -> dict[str, object]:
    """A row of `table` as reflected: `given`, and a plain value for every other column that
    must have one."""
    row: dict[str, object] = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable:
            continue
        python_type = (
            getattr(column.type, "python_type", None)
            if not isinstance(column.type, sa.JSON)
            else list
        )
        row[column.name] = {
            str: "x",
            int: 1,
            bool: False,
            list: [],
            datetime: utcnow(),
        }.get(python_type, [])
    return row


_IDS = {"team_id": "team_1", "project_id": "prj_1"}


def _a_project(**columns: object) -> list[tuple[str, dict[str, object]]]:
    """The rows a team's project stands on (its application, a role, its team), and the
    project with `columns` (those a later migration made required)."""
    project = {"id": "prj_1", "team_id": "team_1", "status": "active", "application": "other"}
    return [
        ("catalog_applications", {"key": "other", "position": 0}),
        ("catalog_roles", {"key": "ai-ethicist", "position": 0}),
        ("teams", {"id": "team_1"}),
        ("projects", {**project, **columns}),
    ]


def _store_at(revision: str, rows: list[tuple[str, dict[str, object]]]) -> None:
    """Upgrade the app's database to `revision` and store `rows` (table, given columns), each
    row filled out as `_filled` does, as that revision's schema has them."""
    upgrade(directory=str(MIGRATIONS_DIR), revision=revision)
    tables = sa.MetaData()
    tables.reflect(db.engine)
    with db.engine.begin() as connection:
        for name, given in rows:
            table = tables.tables[name]
            connection.execute(table.insert().values(_filled(table, **given)))


def test_existing_items_of_the_release_gates_know_they_are_gates_and_keep_their_owners(
    app, app_with, tmp_path
):
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        other = app_with(database_url=url)
        with other.app_context():
            ids = _IDS
            rows = [
                *_a_project(risk_classification="unclassified"),
                ("checklists", {"id": "chk_1", **ids}),
                *(
                    (
                        "checklist_items",
                        {
                            "id": f"itm_{n}",
                            "key": key,
                            "checklist_id": "chk_1",
                            "status": "open",
                            "phase": "plan-and-design",
                            **ids,
                        },
                    )
                    for n, key in enumerate(
                        (
                            "confabulation.measure-factual-accuracy",
                            "value-chain.vet-third-party-models",
                            "data-scientist.collect-and-preprocess-data",
                        )
                    )
                ),
                ("people", {"id": "per_1", "team_id": "team_1"}),
                ("checklist_item_owners", {"item_id": "itm_0", "person_id": "per_1"}),
            ]
            _store_at("0013", rows)

            upgrade(directory=str(MIGRATIONS_DIR), revision="0014")

            with db.engine.connect() as connection:
                # Nothing was rebuilt, so nothing cascaded away: the items keep their owners.
                owners = connection.execute(sa.text("SELECT item_id FROM checklist_item_owners"))
                assert owners.scalars().all() == ["itm_0"]
                repeats = dict(
                    connection.execute(sa.text("SELECT key, repeats FROM checklist_items")).all()
                )
            db.engine.dispose()

    assert repeats == {
        "confabulation.measure-factual-accuracy": "per-release",
        "value-chain.vet-third-party-models": "per-model-version",
        "data-scientist.collect-and-preprocess-data": None,
    }


def test_no_migration_loses_stored_rows_when_it_rebuilds_a_table(app, app_with, tmp_path):
    """On SQLite, a batch operation rebuilds its table and drops the old one; with foreign keys
    on, the drop of `projects` (0008) cascaded to every checklist, item, owner and event. The
    migrations run with them off, so a database from before 0008 keeps every row."""
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        other = app_with(database_url=url)
        with other.app_context():
            ids = _IDS
            rows = [
                *_a_project(),
                ("people", {"id": "per_1", "team_id": "team_1"}),
                ("api_keys", {"id": "key_1", "team_id": "team_1", "secret_hash": "0" * 64}),
                (
                    "assignments",
                    {"id": "asg_1", "role_key": "ai-ethicist", "person_id": "per_1", **ids},
                ),
                ("checklists", {"id": "chk_1", **ids}),
                (
                    "checklist_items",
                    {
                        "id": "itm_1",
                        "checklist_id": "chk_1",
                        "status": "done",
                        "phase": "plan-and-design",
                        "signed_off_by": "per_1",
                        **ids,
                    },
                ),
                ("checklist_item_owners", {"item_id": "itm_1", "person_id": "per_1"}),
                ("events", {"id": "evt_1", **ids}),
            ]
            _store_at("0007", rows)

            upgrade(directory=str(MIGRATIONS_DIR))

            with db.engine.connect() as connection:
                reflected = sa.MetaData()
                reflected.reflect(connection)
                counts = {
                    name: connection.execute(
                        sa.select(sa.func.count()).select_from(reflected.tables[name])
                    ).scalar_one()
                    for name, _ in rows
                }
                signed = connection.execute(
                    text("SELECT signed_off_by, signed_off_with FROM checklist_items")
                ).one()
                # And foreign keys hold again on the connections the app goes on using.
                enforced = (
                    connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
                    if connection.dialect.name == "sqlite"
                    else 1
                )
            db.engine.dispose()

    assert counts == {name: 1 for name, _ in rows}
    # A sign-off from before personal keys keeps who it names, with no key (migration 0011).
    assert tuple(signed) == ("per_1", None)
    assert enforced == 1
