"""risk register: the catalog says when each NIST AI 600-1 risk applies, and projects state
whether they are general-purpose assistants

The catalog gains `catalog_risk_rules`: one row for each of the twelve risks of NIST AI 600-1,
with the rule (in words and as a condition on the project's traits and application) that says
when it applies. A checklist's `risk_register` is derived from them and from its items when it
is read; nothing stored changes. The table is empty until the next `flask seed`, and a checklist
read before that counts every risk as applying.

Projects gain the trait `general_purpose_assistant` (true, false or null when not stated; null
for every existing project, so no checklist changes until a project states it).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade():
    op.create_table(
        "catalog_risk_rules",
        sa.Column("risk", sa.String(length=120), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("applies_when", JSON, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_catalog_risk_rules")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("general_purpose_assistant", sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("general_purpose_assistant")
    op.drop_table("catalog_risk_rules")
