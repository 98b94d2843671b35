"""domain packs: the catalog names the mitigations each field of work brings, and projects
state whether they advertise

The catalog gains `catalog_packs`: each domain pack (clinical, code, synthetic media,
advertising) with its condition and the keys of its mitigations. Packs are read from the
catalog alone; nothing a checklist stores changes. The table is empty until the next
`flask seed`.

Projects gain the trait `advertises` (true, false or null when not stated; null for every
existing project, so no checklist changes until a project states it).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0025"
# 0024 is reserved for a branch not merged yet: whichever of the two is merged second follows
# the other (its down_revision names it).
down_revision = "0024"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade():
    op.create_table(
        "catalog_packs",
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("applies_when", JSON, nullable=False),
        sa.Column("items", JSON, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_catalog_packs")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("advertises", sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("advertises")
    op.drop_table("catalog_packs")
