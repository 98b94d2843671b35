"""checklists a governance lead would sign: traits as stated, third-party models, the
catalog's honest sources, gen-AI risks and implied traits, lifecycle phases and done-when

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

A project's traits become true, false or null (not stated: its application's `implies_traits`
decide). Existing `false` values were the default of an unticked box, not a statement, so they
become null: a healthcare project that never said it handles personal data now gets the
privacy items its application implies. The catalog gains the NIST AI 600-1 risks of each
mitigation, the keys an entry replaces, the skills the article names, the traits each
application implies, and for responsibilities and mitigations their lifecycle phase, what
"done" means and the responsibilities a mitigation stands for (`flask seed` fills them).
Checklist items gain their phase and done-when (existing items read `plan-and-design` and an
empty done-when until their checklist is regenerated, `POST /v1/projects/{p}/checklist`), and
the independent sign-off (`signoff_required`, `reviewer_roles`, `signed_off_by` and when) and
evidence links (`evidence_required`, `evidence`) that the catalog asks of some items.
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
PHASES = (
    "plan-and-design",
    "collect-and-process-data",
    "build-and-use-model",
    "verify-and-validate",
    "deploy-and-use",
    "operate-and-monitor",
)
# New NOT NULL columns: (table, name, type, the value existing rows get). Catalog rows get
# their real values at the next `flask seed`, checklist items at their next regeneration.
FILLED_COLUMNS = (
    ("catalog_applications", "implies_traits", JSON, []),
    ("catalog_mitigations", "genai_risks", JSON, []),
    ("catalog_mitigations", "replaces", JSON, []),
    ("catalog_mitigations", "done_when", sa.Text(), ""),
    ("catalog_mitigations", "phase", sa.String(length=40), "plan-and-design"),
    ("catalog_mitigations", "fulfils", JSON, []),
    ("catalog_responsibilities", "detail", sa.Text(), ""),
    ("catalog_responsibilities", "done_when", sa.Text(), ""),
    ("catalog_responsibilities", "phase", sa.String(length=40), "plan-and-design"),
    ("catalog_responsibilities", "priority", sa.String(length=16), "medium"),
    ("catalog_roles", "article_skills", JSON, []),
    ("catalog_mitigations", "signoff_required", sa.Boolean(), False),
    ("catalog_mitigations", "reviewer_roles", JSON, []),
    ("catalog_mitigations", "evidence_required", sa.Boolean(), False),
    ("catalog_responsibilities", "evidence_required", sa.Boolean(), False),
    ("checklist_items", "phase", sa.String(length=40), "plan-and-design"),
    ("checklist_items", "done_when", sa.Text(), ""),
    ("checklist_items", "signoff_required", sa.Boolean(), False),
    ("checklist_items", "reviewer_roles", JSON, []),
    ("checklist_items", "reviewers", JSON, []),
    ("checklist_items", "evidence_required", sa.Boolean(), False),
    ("checklist_items", "evidence", JSON, []),
)
PHASE_CHECK = "phase IN ({})".format(", ".join(f"'{phase}'" for phase in PHASES))


def upgrade():
    for table, name, type_, value in FILLED_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        rows = sa.table(table, sa.column(name, sa.JSON() if type_ is JSON else type_))
        op.execute(rows.update().values({name: value}))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
    with op.batch_alter_table("catalog_mitigations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority_because", sa.Text(), nullable=True))
    with op.batch_alter_table("checklist_items", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_checklist_items_phase"), PHASE_CHECK)
        batch_op.add_column(sa.Column("signed_off_by", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_checklist_items_signed_off_by"), ["signed_off_by"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_checklist_items_signed_off_by_people"),
            "people",
            ["signed_off_by"],
            ["id"],
            ondelete="SET NULL",
        )

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

    with op.batch_alter_table("checklist_items", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_checklist_items_signed_off_by_people"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_checklist_items_signed_off_by"))
        batch_op.drop_column("signed_off_at")
        batch_op.drop_column("signed_off_by")
        batch_op.drop_constraint(op.f("ck_checklist_items_phase"), type_="check")
    with op.batch_alter_table("catalog_mitigations", schema=None) as batch_op:
        batch_op.drop_column("priority_because")
    for table, name, _, _ in reversed(FILLED_COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(name)
