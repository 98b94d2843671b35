"""list indexes: the project list and the directory read a team's rows newest first by keyset

Without them a page sorts every project (or person) of the team: 5.6 ms for a page of a
10,000-project team, 0.06 ms with the index (bench/server_bench.py, docs/performance.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(
            "ix_people_team_created", ["team_id", "created_at", "id"], unique=False
        )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_projects_team_status_created",
            ["team_id", "status", "created_at", "id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_team_status_created")

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index("ix_people_team_created")
