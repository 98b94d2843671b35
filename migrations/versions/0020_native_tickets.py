"""native tickets: an integration's ticket settings and encrypted token, each item's ticket sync

`integrations` gains `tickets` (where tickets are opened and for which items; null: none) and
`tickets_token` (the tracker's token, Fernet-encrypted with `TICKETS_ENCRYPTION_KEY`; never in
clear). `ticket_syncs` holds, per integration and item, the ticket opened for it and how its
last sync went; `creating` is the intent to open one, committed before the request.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tickets",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("tickets_token", sa.Text(), nullable=True))

    op.create_table(
        "ticket_syncs",
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ticket_key", sa.String(length=300), nullable=True),
        sa.Column("ticket_number", sa.Integer(), nullable=True),
        sa.Column("ticket_url", sa.String(length=2048), nullable=True),
        sa.Column("remote_state", sa.String(length=16), nullable=True),
        sa.Column("remote_reason", sa.String(length=16), nullable=True),
        sa.Column("synced_version", sa.Integer(), nullable=True),
        sa.Column("intent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'creating', 'synced', 'retrying')",
            name=op.f("ck_ticket_syncs_state"),
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_ticket_syncs_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_ticket_syncs_item_id_checklist_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_ticket_syncs_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_syncs")),
        sa.UniqueConstraint(
            "integration_id", "item_id", name=op.f("uq_ticket_syncs_integration_id_item_id")
        ),
    )
    with op.batch_alter_table("ticket_syncs", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_syncs_due", ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_syncs_item_id"), ["item_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_ticket_syncs_team_id"), ["team_id"], unique=False)


def downgrade():
    op.drop_table("ticket_syncs")
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_column("tickets_token")
        batch_op.drop_column("tickets")
