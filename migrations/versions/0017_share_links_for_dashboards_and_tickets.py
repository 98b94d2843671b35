"""share links: to the team dashboard too, and a project's ticket link

`checklist_shares` gains `target` (`checklist`, as every existing link is, or `dashboard`; a
dashboard link has no project, so `project_id` may be null), and `tickets` with `token`: a ticket
link's URL is written into the project's ticket texts and events, so its token is kept (only
for such a link; every other link still keeps only its hash). Existing links are checklist
links, not ticket links.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checklist_shares", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("target", sa.String(length=16), nullable=False, server_default="checklist")
        )
        batch_op.add_column(
            sa.Column("tickets", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("token", sa.String(length=64), nullable=True))
        batch_op.alter_column("project_id", existing_type=sa.String(length=40), nullable=True)
    # The defaults were for the existing rows only: new ones are written whole by the app.
    with op.batch_alter_table("checklist_shares", schema=None) as batch_op:
        batch_op.alter_column("target", server_default=None)
        batch_op.alter_column("tickets", server_default=None)
        batch_op.create_check_constraint(
            op.f("ck_checklist_shares_target"),
            "(target = 'checklist' AND project_id IS NOT NULL)"
            " OR (target = 'dashboard' AND project_id IS NULL AND NOT tickets)",
        )
        batch_op.create_check_constraint(
            op.f("ck_checklist_shares_ticket_token"), "token IS NULL OR tickets"
        )


def downgrade():
    op.execute("DELETE FROM checklist_shares WHERE target = 'dashboard'")
    with op.batch_alter_table("checklist_shares", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_checklist_shares_ticket_token"), type_="check")
        batch_op.drop_constraint(op.f("ck_checklist_shares_target"), type_="check")
        batch_op.alter_column("project_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_column("token")
        batch_op.drop_column("tickets")
        batch_op.drop_column("target")
