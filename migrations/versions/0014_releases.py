"""releases: a project's releases with the model they ship, and the catalog's release gates

A release (`releases`) names its version (unique in its project), its model (name, version,
provider) and notes; one release of a project is `open` at a time (a partial unique index), and
it ends `shipped` or `superseded`. A checklist says which release it is for (`release_id`, a
plain column: see the note in upgrade()).

Responsibilities, mitigations and checklist items gain `repeats`: `per-release` for the gates
asked again of each release, `per-model-version` for those asked again when the model changes.
Catalog rows get their values at the next `flask seed`; existing checklist items get them here,
from the keys of the gates in the catalog of this revision, so that the first release opened
after the upgrade reopens them without waiting for a regeneration.

The item versions that revisions keep (0013) show every public field of an item: each gets its
`repeats` too (by its key, as the items), and its digest again, so that a revision reads as its
items do and the next change records only what it changes. A revision's ETag stays: what it
adds is a field, not a change of what the revision said.

No existing table is rebuilt, on SQLite either: every column is added (and, going down,
dropped) in place, which on SQLite takes 3.35 or later.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

REPEATS_CHECK = "repeats IS NULL OR repeats IN ('per-release', 'per-model-version')"
OPEN = "status = 'open'"
# The gates of the catalog at this revision (seed/catalog.yaml), by item key.
GATES = {
    "per-release": (
        "data-scientist.evaluate-model-performance",
        "content-curator.provide-model-feedback",
        "data-privacy.test-for-training-data-leakage",
        "bias-and-fairness.evaluate-outputs-for-bias",
        "technical-complexity.record-accepted-risks",
        "explainability.document-limitations",
        "confabulation.measure-factual-accuracy",
        "information-security.prompt-injection-testing",
        "intellectual-property.check-outputs-for-copies",
    ),
    "per-model-version": (
        "machine-learning-engineer.build-and-optimize-neural-networks",
        "machine-learning-engineer.train-models",
        "ai-ethicist.analyze-outputs-for-bias",
        "technical-complexity.reproducible-pipeline",
        "confabulation.ground-outputs-in-sources",
        "value-chain.vet-third-party-models",
        "value-chain.pin-and-reevaluate-model-versions",
    ),
}


def upgrade():
    op.create_table(
        "releases",
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("model_provider", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shipped_by", sa.String(length=64), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'shipped', 'superseded')", name=op.f("ck_releases_status")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_releases_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_releases_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("project_id", "version", name=op.f("uq_releases_project_id_version")),
    )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_releases_team_id"), ["team_id"], unique=False)
        batch_op.create_index(
            "ix_releases_project_opened", ["project_id", "opened_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_releases_one_open",
            ["project_id"],
            unique=True,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )

    # Columns added in place, never by rebuilding a table: on SQLite a rebuilt `checklists` or
    # `checklist_items` is dropped, and the drop cascades to the items and their owners.
    op.add_column("checklists", sa.Column("release_id", sa.String(length=40), nullable=True))
    op.create_index(op.f("ix_checklists_release_id"), "checklists", ["release_id"], unique=False)
    for table in ("catalog_responsibilities", "catalog_mitigations"):
        op.add_column(table, sa.Column("repeats", sa.String(length=40), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its own CHECK in place (and drops it so too).
        op.execute(
            "ALTER TABLE checklist_items ADD COLUMN repeats VARCHAR(40) "
            f"CONSTRAINT ck_checklist_items_repeats CHECK ({REPEATS_CHECK})"
        )
    else:
        op.add_column("checklist_items", sa.Column("repeats", sa.String(length=40), nullable=True))
        op.create_check_constraint(
            op.f("ck_checklist_items_repeats"), "checklist_items", REPEATS_CHECK
        )
    items = sa.table("checklist_items", sa.column("key", sa.String()), sa.column("repeats"))
    for repeats, keys in GATES.items():
        op.execute(items.update().where(items.c.key.in_(keys)).values(repeats=repeats))
    _rewrite_versions(lambda data: {**data, "repeats": _repeats_of(data.get("key"))})


def downgrade():
    _rewrite_versions(lambda data: {k: v for k, v in data.items() if k != "repeats"})
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.drop_constraint(op.f("ck_checklist_items_repeats"), "checklist_items", type_="check")
    # In place on SQLite too (ALTER TABLE DROP COLUMN, SQLite 3.35 or later): see upgrade().
    op.execute("ALTER TABLE checklist_items DROP COLUMN repeats")
    for table in ("catalog_mitigations", "catalog_responsibilities"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN repeats")
    op.drop_index(op.f("ix_checklists_release_id"), table_name="checklists")
    op.execute("ALTER TABLE checklists DROP COLUMN release_id")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index("ix_releases_one_open")
        batch_op.drop_index("ix_releases_project_opened")
        batch_op.drop_index(batch_op.f("ix_releases_team_id"))
    op.drop_table("releases")


VERSIONS = sa.table(
    "checklist_item_versions",
    sa.column("item_id", sa.String()),
    sa.column("from_revision", sa.Integer()),
    sa.column("position", sa.Integer()),
    sa.column("digest", sa.String()),
    sa.column("data", sa.JSON()),
)


def _repeats_of(key):
    return next((repeats for repeats, keys in GATES.items() if key in keys), None)


def _rewrite_versions(change):
    """Every item version's data changed by `change`, with its digest made again as the
    application makes it (`app.services.checklists.revisions.version_digest`)."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            VERSIONS.c.item_id, VERSIONS.c.from_revision, VERSIONS.c.position, VERSIONS.c.data
        )
    ).all()
    for row in rows:
        data = change(json.loads(row.data) if isinstance(row.data, str) else row.data)
        canonical = json.dumps(
            [row.position, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        connection.execute(
            VERSIONS.update()
            .where(
                VERSIONS.c.item_id == row.item_id,
                VERSIONS.c.from_revision == row.from_revision,
            )
            .values(data=data, digest=hashlib.sha256(canonical.encode()).hexdigest())
        )
