"""checklist revisions record the release their checklist was for

A revision (`checklist_revisions`, 0013) keeps the header its checklist showed; from this
revision on, that header includes the release the checklist was for as it stood: `release`,
`{version, model, status, opened_at}` as JSON, null before the project's first release.

Revisions recorded before it get null: what release each was for, and in which status, was not
kept, and is not guessed (a release shipped with no item changed recorded no revision then).
The next change recorded of a checklist that is for a release shows it.

The column is added (and, going down, dropped) in place, never by rebuilding the table, on
SQLite too (3.35 or later): a rebuilt table is dropped, and on SQLite the drop would cascade
to whatever refers to it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade():
    op.add_column("checklist_revisions", sa.Column("release", JSON, nullable=True))


def downgrade():
    op.execute("ALTER TABLE checklist_revisions DROP COLUMN release")
