"""catalog references and one collaboration item: responsibilities cite NIST AI RMF
subcategories, context items the EU AI Act, and one mitigation agrees the collaborations

The catalog gains three columns, each filled for existing rows with what a catalog loaded
before said (nothing) until the next `flask seed` loads the catalog's own:
- `catalog_responsibilities.nist`: the NIST AI RMF 1.0 subcategories a responsibility serves,
  as mitigations have (`[]`);
- `catalog_context_items.eu_ai_act`: the articles of Regulation (EU) 2024/1689 an item answers,
  such as ["Art. 12", "Art. 26(6)"] (`[]`);
- `catalog_mitigations.agrees_collaborations`: the one item where the pairs of the article's
  collaboration table agree their hand-offs, in place of one item a pair (`false`).

Checklist items carry their references in their `source` (JSON), so nothing else stored
changes: an item generated before shows them when its checklist is generated again, and the
pairs' items then become `obsolete`, with their state kept.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

"""

from typing import Any

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

# (table, column, type, the value of existing rows)
COLUMNS: tuple[tuple[str, str, Any, Any], ...] = (
    ("catalog_responsibilities", "nist", JSON, []),
    ("catalog_context_items", "eu_ai_act", JSON, []),
    ("catalog_mitigations", "agrees_collaborations", sa.Boolean(), False),
)


def upgrade():
    for table, column, type_, value in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, type_, nullable=True))
        rows = sa.table(table, sa.column(column, type_))
        op.execute(rows.update().values({column: value}))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=type_, nullable=False)


def downgrade():
    for table, column, _, _ in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
