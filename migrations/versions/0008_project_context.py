"""project context: what a project is for and not for, who it affects, where it is used, its
risk as the team classifies it, and the risk the team accepts

Existing projects get the empty context (no intended use stated, no lists, `unclassified`),
which is what a project that has not said anything holds; the checklist shows it as such.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
CLASSIFICATIONS = "('unclassified', 'minimal', 'limited', 'high', 'prohibited')"
LISTS = ("prohibited_uses", "affected_people", "jurisdictions")


def upgrade():
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intended_use", sa.Text(), nullable=True))
        for name in LISTS:
            batch_op.add_column(sa.Column(name, JSON, nullable=True))
        batch_op.add_column(sa.Column("risk_classification", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("risk_tolerance", sa.Text(), nullable=True))
    projects = sa.table(
        "projects",
        sa.column("intended_use", sa.Text()),
        *(sa.column(name, sa.JSON()) for name in LISTS),
        sa.column("risk_classification", sa.String()),
        sa.column("risk_tolerance", sa.Text()),
    )
    op.execute(
        projects.update().values(
            intended_use="",
            risk_classification="unclassified",
            risk_tolerance="",
            **{name: [] for name in LISTS},
        )
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.alter_column("intended_use", existing_type=sa.Text(), nullable=False)
        for name in LISTS:
            batch_op.alter_column(name, existing_type=JSON, nullable=False)
        batch_op.alter_column("risk_classification", existing_type=sa.String(16), nullable=False)
        batch_op.alter_column("risk_tolerance", existing_type=sa.Text(), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_projects_risk_classification"),
            f"risk_classification IN {CLASSIFICATIONS}",
        )


def downgrade():
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_projects_risk_classification"), type_="check")
        batch_op.drop_column("risk_tolerance")
        batch_op.drop_column("risk_classification")
        for name in reversed(LISTS):
            batch_op.drop_column(name)
        batch_op.drop_column("intended_use")
