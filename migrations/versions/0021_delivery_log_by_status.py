"""delivery log by status: an endpoint's deliveries of one status are read by an index

`GET /v1/webhooks/{id}/deliveries?status=dead` walked the endpoint's newest deliveries until a
page of that status was found: a year of a busy endpoint's log, for a rare status.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_webhook_deliveries_endpoint_status_created",
        "webhook_deliveries",
        ["endpoint_id", "status", "created_at", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_webhook_deliveries_endpoint_status_created", table_name="webhook_deliveries")
