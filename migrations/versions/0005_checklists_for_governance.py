"""checklists a governance lead would sign: traits as stated, third-party models, and the
catalog's honest sources, gen-AI risks and implied traits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

A project's traits become true, false or null (not stated: its application's `implies_traits`
decide). Existing `false` values were the default of an unticked box, not a statement, so they
become null: a healthcare project that never said it handles personal data now gets the
privacy items its application implies. The catalog gains the NIST AI 600-1 risks of each
mitigation, the keys an entry replaces, the skills the article names and the traits each
application implies (`flask seed` fills them).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
TRAITS = ("handles_personal_data", "user_facing", "generates_public_content", "regulated_domain")
# (table, column) of the catalog's new lists: filled with [] until the next `flask seed`.
CATALOG_LISTS = (
    ("catalog_applications", "implies_traits"),
    ("catalog_mitigations", "genai_risks"),
    ("catalog_mitigations", "replaces"),
    ("catalog_roles", "article_skills"),
)


def upgrade():
    for table, column in CATALOG_LISTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, JSON, nullable=True))
        rows = sa.table(table, sa.column(column, sa.JSON()))
        op.execute(rows.update().values({column: []}))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=JSON, nullable=False)

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uses_third_party_models", sa.Boolean(), nullable=True))
        for trait in TRAITS:
            batch_op.alter_column(trait, existing_type=sa.BOOLEAN(), nullable=True)
    projects = sa.table("projects", *(sa.column(t, sa.Boolean()) for t in TRAITS))
    for trait in TRAITS:
        column = projects.c[trait]
        op.execute(projects.update().where(column == sa.false()).values({trait: None}))


def downgrade():
    projects = sa.table("projects", *(sa.column(t, sa.Boolean()) for t in TRAITS))
    for trait in TRAITS:
        column = projects.c[trait]
        op.execute(projects.update().where(column.is_(None)).values({trait: False}))
    with op.batch_alter_table("projects", schema=None) as batch_op:
        for trait in reversed(TRAITS):
            batch_op.alter_column(trait, existing_type=sa.BOOLEAN(), nullable=False)
        batch_op.drop_column("uses_third_party_models")

    for table, column in reversed(CATALOG_LISTS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
