"""traits defined and model source: the catalog defines every trait a project states, and
projects state seven more

Projects gain six traits, each true, false or null when not stated (`generates_code`,
`reads_untrusted_content`, `states_facts`, `affects_decisions_about_people`, `synthetic_media`,
`minors_may_use`), and `model_source` (`hosted-third-party`, `fine-tuned`, `trained-in-house`,
or null). Existing projects state none of them, so their checklists do not change until they do.

Stored revisions gain `model_source: null` in their project header: a checklist's header now
says where the model comes from, and no project had stated it when they were recorded, so a
revision still reads as its checklist did.

The catalog's roles gain `required_when_classified` and `nist` (the governance roles: privacy
officer, security lead, domain expert, accountable executive), empty until the next `flask seed`.

The catalog gains `catalog_traits` (each trait's title, definition and values) and
`assumes_training` on responsibilities and mitigations (false for every row until the next
`flask seed` loads the catalog's own).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")

NEW_TRAITS = (
    "generates_code",
    "reads_untrusted_content",
    "states_facts",
    "affects_decisions_about_people",
    "synthetic_media",
    "minors_may_use",
)
MODEL_SOURCE_CHECK = (
    "model_source IS NULL OR model_source IN "
    "('hosted-third-party', 'fine-tuned', 'trained-in-house')"
)
TRAINING_TABLES = ("catalog_responsibilities", "catalog_mitigations")
# A role's risk classifications that require it, and the NIST subcategories that call for it.
ROLE_LISTS = ("required_when_classified", "nist")


def upgrade():
    op.create_table(
        "catalog_traits",
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_catalog_traits")),
    )
    for table in TRAINING_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("assumes_training", sa.Boolean(), nullable=True))
        rows = sa.table(table, sa.column("assumes_training", sa.Boolean()))
        op.execute(rows.update().values(assumes_training=False))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("assumes_training", existing_type=sa.Boolean(), nullable=False)
    for name in ROLE_LISTS:
        with op.batch_alter_table("catalog_roles", schema=None) as batch_op:
            batch_op.add_column(sa.Column(name, JSON, nullable=True))
        roles = sa.table("catalog_roles", sa.column(name, sa.JSON()))
        op.execute(roles.update().values({name: []}))
        with op.batch_alter_table("catalog_roles", schema=None) as batch_op:
            batch_op.alter_column(name, existing_type=JSON, nullable=False)
    with op.batch_alter_table("projects", schema=None) as batch_op:
        for trait in NEW_TRAITS:
            batch_op.add_column(sa.Column(trait, sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("model_source", sa.String(length=40), nullable=True))
        batch_op.create_check_constraint(op.f("ck_projects_model_source"), MODEL_SOURCE_CHECK)
    _set_model_source_in_revisions(lambda header: {**header, "model_source": None})


def _set_model_source_in_revisions(change):
    """Rewrite the project header of every stored revision with `change`."""
    revisions = sa.table(
        "checklist_revisions",
        sa.column("checklist_id", sa.String(length=40)),
        sa.column("revision", sa.Integer()),
        sa.column("project", sa.JSON()),
    )
    connection = op.get_bind()
    stored = sa.select(revisions.c.checklist_id, revisions.c.revision, revisions.c.project)
    for row in connection.execute(stored).all():
        header = row.project or {}
        changed = change(header)
        if changed != header:
            connection.execute(
                revisions.update()
                .where(
                    revisions.c.checklist_id == row.checklist_id,
                    revisions.c.revision == row.revision,
                )
                .values(project=changed)
            )


def downgrade():
    _set_model_source_in_revisions(
        lambda header: {k: v for k, v in header.items() if k != "model_source"}
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_projects_model_source"), type_="check")
        batch_op.drop_column("model_source")
        for trait in reversed(NEW_TRAITS):
            batch_op.drop_column(trait)
    with op.batch_alter_table("catalog_roles", schema=None) as batch_op:
        for name in reversed(ROLE_LISTS):
            batch_op.drop_column(name)
    for table in reversed(TRAINING_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("assumes_training")
    op.drop_table("catalog_traits")
