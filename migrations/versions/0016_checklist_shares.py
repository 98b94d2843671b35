"""checklist shares: read-only links that open a project's checklist without an API key

`checklist_shares` holds each link's SHA-256 (never its token, which is shown once), its
project and team, an optional name, when it expires and when it was revoked, and how often and
when it was last used (written in batches, outside the requests that use it).

Tables only: nothing existing changes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "checklist_shares",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_checklist_shares_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_checklist_shares_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_shares")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_checklist_shares_token_hash")),
    )
    with op.batch_alter_table("checklist_shares", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checklist_shares_project_created",
            ["project_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_checklist_shares_team_id"), ["team_id"], unique=False)


def downgrade():
    with op.batch_alter_table("checklist_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_shares_team_id"))
        batch_op.drop_index("ix_checklist_shares_project_created")
    op.drop_table("checklist_shares")
