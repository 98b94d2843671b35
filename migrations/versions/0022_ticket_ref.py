"""native tickets in Jira and Linear: each ticket's id in its tracker

`ticket_syncs` gains `ticket_ref`, the id the tracker's API addresses a ticket by: GitHub's
issue number (copied from `ticket_number` for the rows there are), Jira's issue id, Linear's
issue id. Keys (`CLIN-7`, `ENG-42`) change when an issue moves to another project or team;
ids do not.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket_syncs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_ref", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE ticket_syncs SET ticket_ref = CAST(ticket_number AS VARCHAR(100)) "
        "WHERE ticket_number IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("ticket_syncs", schema=None) as batch_op:
        batch_op.drop_column("ticket_ref")
