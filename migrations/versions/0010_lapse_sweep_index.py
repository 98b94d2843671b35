"""lapse sweep index: the delivery worker finds checklists with a waiver due by an index

Every delivery worker looks, once a minute, for the checklists whose earliest waiver expiry
has passed (`next_waiver_expiry < today`); without an index that is a scan of every checklist.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checklists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklists_next_waiver_expiry"), ["next_waiver_expiry"], unique=False
        )


def downgrade():
    with op.batch_alter_table("checklists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklists_next_waiver_expiry"))
