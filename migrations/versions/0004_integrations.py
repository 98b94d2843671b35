"""integrations: inbound ticketing integrations and their deliveries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Integrations are the ticketing systems (GitHub, Jira, Linear, or any Standard Webhooks sender)
that post to `/v1/inbound/{id}`; each delivery they send is recorded once, keyed by the
provider's delivery id, so a redelivery is recognised and changes nothing.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "integrations",
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column(
            "status_map",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("previous_secret", sa.String(length=200), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "provider IN ('github', 'jira', 'linear', 'generic')",
            name=op.f("ck_integrations_provider"),
        ),
        sa.CheckConstraint(
            "verification IN ('signature', 'token')", name=op.f("ck_integrations_verification")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_integrations_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_integrations_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
    )
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integrations_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_integrations_team_id"), ["team_id"], unique=False)

    op.create_table(
        "inbound_deliveries",
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column(
            "ticket",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("ticket_state", sa.String(length=100), nullable=True),
        sa.Column("sender", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column(
            "items",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("body_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('applied', 'unchanged', 'ignored', 'no_item', 'ping')",
            name=op.f("ck_inbound_deliveries_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_inbound_deliveries_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_inbound_deliveries_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_deliveries")),
        sa.UniqueConstraint(
            "integration_id",
            "delivery_id",
            name=op.f("uq_inbound_deliveries_integration_id_delivery_id"),
        ),
    )
    with op.batch_alter_table("inbound_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_deliveries_integration_created",
            ["integration_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_deliveries_team_id"), ["team_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("inbound_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_deliveries_team_id"))
        batch_op.drop_index("ix_inbound_deliveries_integration_created")

    op.drop_table("inbound_deliveries")
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrations_team_id"))
        batch_op.drop_index(batch_op.f("ix_integrations_project_id"))

    op.drop_table("integrations")
