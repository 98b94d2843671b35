"""responsibilities' NIST references: a role's responsibility names the NIST AI RMF 1.0
subcategories it serves, as mitigations do

The catalog's responsibilities gain `nist`, empty for every row until the next `flask seed`
loads the catalog's own. Stored checklist items keep their sources until their checklist is
regenerated.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade():
    with op.batch_alter_table("catalog_responsibilities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nist", JSON, nullable=True))
    rows = sa.table("catalog_responsibilities", sa.column("nist", sa.JSON()))
    op.execute(rows.update().values(nist=[]))
    with op.batch_alter_table("catalog_responsibilities", schema=None) as batch_op:
        batch_op.alter_column("nist", existing_type=JSON, nullable=False)


def downgrade():
    with op.batch_alter_table("catalog_responsibilities", schema=None) as batch_op:
        batch_op.drop_column("nist")
