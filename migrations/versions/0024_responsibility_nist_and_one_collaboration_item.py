"""responsibilities' NIST references, and one item for the collaborations

The catalog's responsibilities gain `nist` (the NIST AI RMF 1.0 subcategories a responsibility
serves, as mitigations have), empty for every row until the next `flask seed` loads the
catalog's own. Its mitigations gain `agrees_collaborations` (false for every row until then):
the one item where the pairs of the article's collaboration table agree their hand-offs, in
place of one item a pair. Stored checklist items keep their sources until their checklist is
regenerated; the pairs' items then become `obsolete`, with their state kept.

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
    with op.batch_alter_table("catalog_mitigations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agrees_collaborations", sa.Boolean(), nullable=True))
    mitigations = sa.table("catalog_mitigations", sa.column("agrees_collaborations", sa.Boolean()))
    op.execute(mitigations.update().values(agrees_collaborations=False))
    with op.batch_alter_table("catalog_mitigations", schema=None) as batch_op:
        batch_op.alter_column("agrees_collaborations", existing_type=sa.Boolean(), nullable=False)


def downgrade():
    with op.batch_alter_table("catalog_mitigations", schema=None) as batch_op:
        batch_op.drop_column("agrees_collaborations")
    with op.batch_alter_table("catalog_responsibilities", schema=None) as batch_op:
        batch_op.drop_column("nist")
