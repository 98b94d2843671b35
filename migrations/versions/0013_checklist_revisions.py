"""checklist revisions: every revision of a checklist kept, its items as versions

A checklist's `revision` now goes up once per transaction that changes it or any of its items,
and each revision is kept (`checklist_revisions`: its header, summary and what made it;
`checklist_item_versions`: each item as it stood from one revision to another). `recorded_state`
is the checklist's `state` as of its last recorded revision.

The history of an existing checklist starts here: its current state is recorded as its current
revision (its items as they stand, one version each, made by `migration`). Nothing is known of
its earlier revisions. A downgrade drops the history.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

"""

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
UNRECORDED = "recorded_state IS NULL OR recorded_state <> state"

# As of this revision (a revision imports no application code): an item's public columns
# (`app.models.checklist.PUBLIC_COLUMNS`), those that hold timestamps, the traits, the context
# fields, and the statuses and kinds a summary counts (`app.vocabulary`).
PUBLIC_COLUMNS = (
    "id", "key", "kind", "title", "detail", "phase", "done_when", "roles", "priority", "status",
    "note", "waiver", "ticket", "signoff_required", "reviewer_roles", "reviewers",
    "signed_off_by", "signed_off_at", "signed_off_with", "evidence_required", "evidence",
    "because", "source",
    "version", "created_at", "updated_at",
)  # fmt: skip
TIMESTAMPS = ("signed_off_at", "created_at", "updated_at")
JSON_COLUMNS = (
    "roles", "waiver", "ticket", "reviewer_roles", "reviewers", "evidence", "because", "source",
)  # fmt: skip
FLAGS = ("signoff_required", "evidence_required")
TRAITS = (
    "handles_personal_data",
    "user_facing",
    "generates_public_content",
    "regulated_domain",
    "uses_third_party_models",
)
CONTEXT_FIELDS = (
    "intended_use",
    "prohibited_uses",
    "affected_people",
    "jurisdictions",
    "risk_classification",
    "risk_tolerance",
)
CONTEXT_LISTS = ("prohibited_uses", "affected_people", "jurisdictions")
STATUSES = ("open", "in_progress", "done", "waived", "obsolete")
KINDS = ("responsibility", "collaboration", "mitigation", "staffing", "context")


def upgrade():
    op.create_table(
        "checklist_revisions",
        sa.Column("checklist_id", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("catalog_version", sa.String(length=80), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("project", JSON, nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("api_key_id", sa.String(length=40), nullable=True),
        sa.Column("person_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklists.id"],
            name=op.f("fk_checklist_revisions_checklist_id_checklists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_checklist_revisions_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("checklist_id", "revision", name=op.f("pk_checklist_revisions")),
    )
    with op.batch_alter_table("checklist_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_revisions_team_id"), ["team_id"], unique=False
        )
    op.create_table(
        "checklist_item_versions",
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("from_revision", sa.Integer(), nullable=False),
        sa.Column("to_revision", sa.Integer(), nullable=True),
        sa.Column("checklist_id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklists.id"],
            name=op.f("fk_checklist_item_versions_checklist_id_checklists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_checklist_item_versions_item_id_checklist_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_checklist_item_versions_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "item_id", "from_revision", name=op.f("pk_checklist_item_versions")
        ),
    )
    with op.batch_alter_table("checklist_item_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checklist_item_versions_checklist",
            ["checklist_id", "from_revision"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_checklist_item_versions_team_id"), ["team_id"], unique=False
        )
    with op.batch_alter_table("checklists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_state", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_checklists_unrecorded",
            ["id"],
            unique=False,
            postgresql_where=sa.text(UNRECORDED),
            sqlite_where=sa.text(UNRECORDED),
        )
    _record_existing_checklists(op.get_bind())


def downgrade():
    op.drop_index("ix_checklists_unrecorded", table_name="checklists")
    # In place, not by the batch's copy of the table: dropping the old `checklists` on SQLite
    # would delete its items and their owners (ON DELETE CASCADE).
    op.execute("ALTER TABLE checklists DROP COLUMN recorded_state")
    with op.batch_alter_table("checklist_item_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_item_versions_team_id"))
        batch_op.drop_index("ix_checklist_item_versions_checklist")
    op.drop_table("checklist_item_versions")
    with op.batch_alter_table("checklist_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_revisions_team_id"))
    op.drop_table("checklist_revisions")


# --------------------------------------------------------------------------- the data


def _column_type(name):
    if name in TIMESTAMPS:
        return sa.DateTime(timezone=True)
    if name in JSON_COLUMNS:
        return sa.JSON()
    if name in FLAGS:
        return sa.Boolean()
    return sa.Integer() if name == "version" else sa.Text()


checklists = sa.table(
    "checklists",
    sa.column("id", sa.String()),
    sa.column("team_id", sa.String()),
    sa.column("project_id", sa.String()),
    sa.column("revision", sa.Integer()),
    sa.column("state", sa.Integer()),
    sa.column("recorded_state", sa.Integer()),
    sa.column("catalog_version", sa.String()),
    sa.column("generated_at", sa.DateTime(timezone=True)),
)
projects = sa.table(
    "projects",
    sa.column("id", sa.String()),
    sa.column("name", sa.String()),
    sa.column("slug", sa.String()),
    sa.column("application", sa.String()),
    *(sa.column(name, sa.Boolean()) for name in TRAITS),
    *(
        sa.column(name, sa.JSON() if name in CONTEXT_LISTS else sa.Text())
        for name in CONTEXT_FIELDS
    ),
)
applications = sa.table(
    "catalog_applications", sa.column("key", sa.String()), sa.column("implies_traits", sa.JSON())
)
items = sa.table(
    "checklist_items",
    sa.column("checklist_id", sa.String()),
    sa.column("position", sa.Integer()),
    *(sa.column(name, _column_type(name)) for name in PUBLIC_COLUMNS),
)
owners = sa.table(
    "checklist_item_owners",
    sa.column("item_id", sa.String()),
    sa.column("person_id", sa.String()),
    sa.column("position", sa.Integer()),
)
people = sa.table(
    "people",
    sa.column("id", sa.String()),
    sa.column("name", sa.String()),
    sa.column("email", sa.String()),
    sa.column("github", sa.String()),
    sa.column("jira", sa.String()),
    sa.column("linear", sa.String()),
)
revisions = sa.table(
    "checklist_revisions",
    *(sa.column(name, sa.JSON()) for name in ("project", "context", "summary", "event_types")),
    sa.column("checklist_id", sa.String()),
    sa.column("revision", sa.Integer()),
    sa.column("team_id", sa.String()),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("catalog_version", sa.String()),
    sa.column("generated_at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("api_key_id", sa.String()),
    sa.column("person_id", sa.String()),
)
versions = sa.table(
    "checklist_item_versions",
    sa.column("item_id", sa.String()),
    sa.column("from_revision", sa.Integer()),
    sa.column("to_revision", sa.Integer()),
    sa.column("checklist_id", sa.String()),
    sa.column("team_id", sa.String()),
    sa.column("position", sa.Integer()),
    sa.column("digest", sa.String()),
    sa.column("data", sa.JSON()),
)


def _utc(value):
    """A timestamp as the application reads it: aware, in UTC (SQLite keeps it naive)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _digest(position, data):
    canonical = json.dumps(
        [position, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _header(project, implies):
    stated = {t for t in TRAITS if project._mapping[t] is True}
    declined = {t for t in TRAITS if project._mapping[t] is False}
    implied = set(implies.get(project.application) or ()) - stated - declined
    return {
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "application": project.application,
        "traits": sorted(stated | implied),
        "implied_traits": sorted(implied),
    }


def _record_existing_checklists(connection):
    implies = {
        key: _json(traits) or [] for key, traits in connection.execute(sa.select(applications))
    }
    now = datetime.now(UTC)
    signers = dict(connection.execute(sa.select(people.c.id, people.c.name)).all())
    for checklist in connection.execute(sa.select(checklists)).all():
        project = connection.execute(
            sa.select(projects).where(projects.c.id == checklist.project_id)
        ).one()
        held = {}
        found = connection.execute(
            sa.select(owners.c.item_id, people)
            .join(people, people.c.id == owners.c.person_id)
            .join(items, items.c.id == owners.c.item_id)
            .where(items.c.checklist_id == checklist.id)
            .order_by(owners.c.item_id, owners.c.position)
        )
        for row in found:
            handles = {s: row._mapping[s] for s in ("github", "jira", "linear") if row._mapping[s]}
            person = {"id": row.id, "name": row.name, "email": row.email, "handles": handles}
            held.setdefault(row.item_id, []).append(person)
        counts = Counter()
        rows = []
        for item in connection.execute(
            sa.select(items).where(items.c.checklist_id == checklist.id)
        ):
            data = {}
            for name in PUBLIC_COLUMNS:
                value = item._mapping[name]
                if name in TIMESTAMPS:
                    value = _utc(value)
                    value = value.isoformat() if value is not None else None
                elif name in JSON_COLUMNS:
                    value = _json(value)
                elif name in FLAGS:
                    value = bool(value)
                data[name] = value
            data["owners"] = held.get(item.id, [])
            data["signed_off_by_name"] = signers.get(item.signed_off_by)
            counts[(item.status, item.kind)] += 1
            rows.append(
                {
                    "item_id": item.id,
                    "from_revision": checklist.revision,
                    "to_revision": None,
                    "checklist_id": checklist.id,
                    "team_id": checklist.team_id,
                    "position": item.position,
                    "digest": _digest(item.position, data),
                    "data": data,
                }
            )
        if rows:
            connection.execute(versions.insert(), rows)
        connection.execute(
            revisions.insert().values(
                checklist_id=checklist.id,
                revision=checklist.revision,
                team_id=checklist.team_id,
                recorded_at=now,
                catalog_version=checklist.catalog_version,
                generated_at=_utc(checklist.generated_at),
                project=_header(project, implies),
                context={
                    name: _json(project._mapping[name])
                    if name in CONTEXT_LISTS
                    else project._mapping[name]
                    for name in CONTEXT_FIELDS
                },
                summary=_summary(counts),
                event_types=[],
                actor="migration",
                api_key_id=None,
                person_id=None,
            )
        )
        connection.execute(
            checklists.update()
            .where(checklists.c.id == checklist.id)
            .values(recorded_state=checklist.state)
        )


def _summary(counts):
    """`app.services.checklists.summary.summary_of`, as of this revision."""
    statuses, kinds = Counter(), Counter()
    for (status, kind), n in counts.items():
        statuses[status] += n
        kinds[kind] += n
    total = sum(statuses.values())
    remaining = total - statuses["waived"] - statuses["obsolete"]
    if total == 0:
        percent = 0
    elif remaining <= 0:
        percent = 100
    else:
        percent = min(100, max(0, round(100 * statuses["done"] / remaining)))
    return {
        "total": total,
        "by_status": {status: statuses[status] for status in STATUSES},
        "by_kind": {kind: kinds[kind] for kind in KINDS},
        "percent_done": percent,
    }
