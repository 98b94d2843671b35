"""The migrations build exactly the schema the models describe, and /readyz reports the head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.extensions import db
from app.models import Base
from app.services.migrations import head_revision


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
