"""EU AI Act references: the catalog's context items cite the articles of Regulation (EU)
2024/1689 they answer

The catalog's context items gain `eu_ai_act` (a list such as ["Art. 12", "Art. 26(6)"]), empty
for every existing row until the next `flask seed` loads the catalog's own. Checklist items carry
the references in their `source` (JSON), so nothing else stored changes; an item generated before
shows none until its checklist is generated again.

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
down_revision = "0024"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade():
    with op.batch_alter_table("catalog_context_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eu_ai_act", JSON, nullable=True))
    items = sa.table("catalog_context_items", sa.column("eu_ai_act", sa.JSON()))
    op.execute(items.update().values(eu_ai_act=[]))
    with op.batch_alter_table("catalog_context_items", schema=None) as batch_op:
        batch_op.alter_column("eu_ai_act", existing_type=JSON, nullable=False)


def downgrade():
    with op.batch_alter_table("catalog_context_items", schema=None) as batch_op:
        batch_op.drop_column("eu_ai_act")
