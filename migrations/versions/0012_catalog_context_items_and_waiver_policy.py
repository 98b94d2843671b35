"""catalog context items and waiver policy: what a project's context asks of it, and the
waiver policy by priority, as catalog data

The catalog gains two sections (`flask seed` fills them): the items a project's stated context
asks for (`catalog_context_items`), and the waiver policy (`catalog_waiver_policies`, one row),
whose values were constants in code until now. A catalog loaded before this revision gets the
policy it was held to, the same values, so that waivers keep their rules until the next
`flask seed` loads the catalog's own; it has no context items until then.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def _rule(priority, approver, max_days, risk):
    return {
        "priority": priority,
        "approver": approver,
        "max_days": max_days,
        "reason_min_chars": 20,
        "residual_risk_required": risk,
        "residual_risk_min_chars": 20 if risk else None,
    }


# The policy as the code held it until this revision (app/services/checklists/waiver_policy.py).
POLICY_IN_CODE = {
    "key": "waiver-policy",
    "position": 0,
    "source": {"kind": "authored", "section": "Waiver policy", "quote": None, "elaborates": None},
    "accountable_roles": ["product-manager", "ai-ethicist"],
    "rules": [
        _rule("critical", "accountable-role", 90, True),
        _rule("high", "independent", 180, True),
        _rule("medium", "as-the-item-needs", 365, False),
        _rule("low", "as-the-item-needs", 365, False),
    ],
    "never_waived": [],
}


def upgrade():
    op.create_table(
        "catalog_context_items",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("done_when", sa.Text(), nullable=False),
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("owner_roles", JSON, nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("priority_because", sa.Text(), nullable=True),
        sa.Column("applies_when", JSON, nullable=False),
        sa.Column("signoff_required", sa.Boolean(), nullable=False),
        sa.Column("reviewer_roles", JSON, nullable=False),
        sa.Column("evidence_required", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_catalog_context_items")),
    )
    policies = op.create_table(
        "catalog_waiver_policies",
        sa.Column("accountable_roles", JSON, nullable=False),
        sa.Column("rules", JSON, nullable=False),
        sa.Column("never_waived", JSON, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_catalog_waiver_policies")),
    )
    loaded = op.get_bind().execute(sa.text("SELECT count(*) FROM catalog_versions")).scalar()
    if loaded:
        op.bulk_insert(policies, [POLICY_IN_CODE])


def downgrade():
    op.drop_table("catalog_waiver_policies")
    op.drop_table("catalog_context_items")
