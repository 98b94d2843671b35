"""erasures: people erased from a team, and the checklists whose history an erasure rewrote

`erasures` holds the id of each erased person (nothing else of theirs), their team, when and
by whom: erasing them again answers the same. `checklists.redactions` counts the erasures that
rewrote a checklist's kept revisions; a revision's ETag includes it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "erasures",
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_erasures_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_erasures")),
    )
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasures_team_id"), ["team_id"], unique=False)
    # A plain column with a default: SQLite adds it in place (no rebuild of `checklists`).
    op.add_column(
        "checklists",
        sa.Column("redactions", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade():
    op.drop_column("checklists", "redactions")
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasures_team_id"))
    op.drop_table("erasures")
