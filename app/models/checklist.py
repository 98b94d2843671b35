"""Stored checklists: one per project, its items kept by key across regenerations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.schema import ColumnDefault

from app.models.base import Base, PublicIdMixin, TimestampMixin, VersionedMixin, utcnow
from app.models.directory import Person
from app.models.release import Release
from app.vocabulary import PHASES, ItemStatus, Repeats, values

ITEM_STATUSES: tuple[str, ...] = values(ItemStatus)
REPEATS: tuple[str, ...] = values(Repeats)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Checklist(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "checklists"
    id_prefix = "chk"
    __table_args__ = (
        # The checklists whose state changed since their last recorded revision: only those a
        # transaction changed, until it commits (`app.services.checklists.revisions`).
        Index(
            "ix_checklists_unrecorded",
            "id",
            postgresql_where=text("recorded_state IS NULL OR recorded_state <> state"),
            sqlite_where=text("recorded_state IS NULL OR recorded_state <> state"),
        ),
    )

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), unique=True
    )
    # The last recorded revision: goes up once per transaction that changes the checklist or
    # any of its items, each revision kept (`ChecklistRevision`); written only by the recording
    # just before COMMIT (`app.services.checklists.revisions`).
    revision: Mapped[int] = mapped_column(default=1)
    catalog_version: Mapped[str] = mapped_column(String(80))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Goes up with every change to the checklist or any of its items (atomically, in SQL);
    # the checklist's ETag and render cache are keyed by it.
    state: Mapped[int] = mapped_column(default=1)
    # The earliest expiry of a waived item's waiver: writes check it instead of every item,
    # and the delivery worker's sweep finds the checklists with a lapse due by its index.
    next_waiver_expiry: Mapped[date | None] = mapped_column(index=True)
    # `state` as of the last recorded revision (null: none recorded yet): a checklist whose
    # state is another has changed in the transaction, which records its next revision.
    recorded_state: Mapped[int | None] = mapped_column(default=None)
    # How many erasures rewrote its kept revisions (`app.services.directory.erasure`): a
    # revision's ETag includes it, since what a revision shows changes only then.
    redactions: Mapped[int] = mapped_column(default=0, server_default="0")

    # The release it is for: the project's latest (`app.services.releases`), read with it (one
    # outer join, no query of its own). No foreign key: SQLite can add and drop a plain column
    # in place, where a constraint would have it rebuild `checklists`, and dropping the old
    # table would cascade to every item. A release goes only with its project, which takes
    # its checklist with it.
    release_id: Mapped[str | None] = mapped_column(String(40), index=True)

    release: Mapped[Release | None] = relationship(
        primaryjoin="foreign(Checklist.release_id) == Release.id", lazy="joined"
    )

    def mark_changed(self) -> None:
        """Bump `state`, in SQL, so concurrent writers to different items never overwrite each
        other's increment; cached renderings and ETags of the old state stop being served."""
        self.state = Checklist.state + 1
        self.updated_at = utcnow()


class ChecklistItem(PublicIdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "checklist_items"
    __table_args__ = (
        UniqueConstraint("checklist_id", "key"),
        CheckConstraint(_one_of("status", ITEM_STATUSES), name="status"),
        CheckConstraint(_one_of("phase", PHASES), name="phase"),
        CheckConstraint(f"repeats IS NULL OR {_one_of('repeats', REPEATS)}", name="repeats"),
    )
    id_prefix = "itm"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    checklist_id: Mapped[str] = mapped_column(ForeignKey("checklists.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text)
    # The NIST AI RMF lifecycle stage, and what "done" means for this item.
    phase: Mapped[str] = mapped_column(String(40))
    done_when: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]]
    priority: Mapped[str] = mapped_column(String(16))
    because: Mapped[list[str]]
    source: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="open")
    # What the status was when the item went obsolete, restored if it applies again.
    status_before_obsolete: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    waiver: Mapped[dict[str, Any] | None]
    ticket: Mapped[dict[str, Any] | None]
    # Independent sign-off: where required, the item is done only with `signed_off_by`, a person
    # of the team who does not own it and holds one of `reviewer_roles` on the project.
    signoff_required: Mapped[bool] = mapped_column(default=False)
    reviewer_roles: Mapped[list[str]] = mapped_column(default=list)
    # Who can sign it off as staffed when generated: [{id, name}] (the rule is checked afresh).
    reviewers: Mapped[list[Any]] = mapped_column(default=list)
    signed_off_by: Mapped[str | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    signed_off_at: Mapped[datetime | None]
    # The personal key the signer signed with; null for a sign-off named with a team key before
    # personal keys existed (migration 0011), which nothing but the body vouched for.
    signed_off_with: Mapped[str | None] = mapped_column(String(40))
    # Links to what shows the work done: [{title, url}]; required for done where flagged.
    evidence_required: Mapped[bool] = mapped_column(default=False)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    # A release gate (`Repeats`): opening a release reopens it (`app.services.releases`).
    repeats: Mapped[str | None] = mapped_column(String(40))

    # Loaded with the item (one outer join): its name shows beside the sign-off.
    signer: Mapped[Person | None] = relationship(lazy="joined")
    owners: Mapped[list[ChecklistItemOwner]] = relationship(
        order_by="ChecklistItemOwner.position",
        cascade="all, delete-orphan",
        lazy="raise",
        passive_deletes=True,
    )

    @property
    def signed_off_by_name(self) -> str | None:
        """The signer's name (reads of many items select it as a column of this name)."""
        return self.signer.name if self.signer is not None else None


class ChecklistItemOwner(Base):
    """A person who owns an item (someone in one of its roles, or named by a finding)."""

    __tablename__ = "checklist_item_owners"
    __table_args__ = (Index("ix_checklist_item_owners_person", "person_id", "item_id"),)

    item_id: Mapped[str] = mapped_column(
        ForeignKey("checklist_items.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int]

    person: Mapped[Person] = relationship(lazy="joined", innerjoin=True)


class ChecklistRevision(Base):
    """One revision of a checklist as it stood: its header (the project and context, the
    catalog version, when it was generated), its summary, and what made it (the events of its
    transaction, and who). Its items are the `ChecklistItemVersion`s live at it."""

    __tablename__ = "checklist_revisions"

    checklist_id: Mapped[str] = mapped_column(
        ForeignKey("checklists.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    catalog_version: Mapped[str] = mapped_column(String(80))
    generated_at: Mapped[datetime]
    # The project's header and context as the checklist showed them.
    project: Mapped[dict[str, Any]]
    context: Mapped[dict[str, Any]]
    # The release the checklist was for, as it stood (`{version, model, status, opened_at}`,
    # `opened_at` as ISO 8601 text); null before its first release, and in the revisions
    # recorded before migration 0015 (which did not keep it).
    release: Mapped[dict[str, Any] | None]
    summary: Mapped[dict[str, Any]]
    # The types of the events recorded in the transaction that made it, in their order.
    event_types: Mapped[list[str]]
    # Who made it: the actor of its events (`api_key:…`, `system`, `cli`, an integration), the
    # API key, and the person its events name (`Event.actor_person_id`: a personal key's, or a
    # tracker's sender who signed off), kept as written.
    actor: Mapped[str] = mapped_column(String(120))
    api_key_id: Mapped[str | None] = mapped_column(String(40))
    person_id: Mapped[str | None] = mapped_column(String(40))


class ChecklistItemVersion(Base):
    """An item as it stood from revision `from_revision` until `to_revision` (the first
    revision it no longer holds at; null while current): written only when the item's public
    form (its owners' names included) or its place in the checklist changed."""

    __tablename__ = "checklist_item_versions"
    __table_args__ = (
        Index("ix_checklist_item_versions_checklist", "checklist_id", "from_revision"),
    )

    item_id: Mapped[str] = mapped_column(
        ForeignKey("checklist_items.id", ondelete="CASCADE"), primary_key=True
    )
    from_revision: Mapped[int] = mapped_column(primary_key=True)
    to_revision: Mapped[int | None]
    checklist_id: Mapped[str] = mapped_column(ForeignKey("checklists.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    # A digest of `position` and `data`: how the recording tells an item changed.
    digest: Mapped[str] = mapped_column(String(64))
    # The item's public columns (timestamps as ISO 8601 text), `owners` and
    # `signed_off_by_name`, as stored then; titles are the catalog version's.
    data: Mapped[dict[str, Any]]


# --------------------------------------------------------------------------- the item's fields


class Origin(StrEnum):
    """Who writes a field of an item."""

    PLACE = "place"  # where the item belongs: its team, checklist and project
    IDENTITY = "identity"  # its id, and its key in the catalog
    GENERATED = "generated"  # the generator, rewritten by every regeneration
    # The item's workflow (status, sign-off, evidence...): kept across regenerations, handed
    # over to an item that replaces it, and a new item's is each column's default.
    STATE = "state"
    RECORD = "record"  # kept by the system: versions, timestamps, the status before obsolete
    COMPUTED = "computed"  # no column: worked out when the item is read


@dataclass(frozen=True)
class ItemField:
    """One field of a checklist item: its name, who writes it, whether its JSON shows it."""

    name: str
    origin: Origin
    public: bool = True  # in the item's JSON form (`ItemOut`), its CSV and its events


# Every field of a checklist item, defined once: each column of `checklist_items`, and what a
# read computes beside them; the public ones in the order the item's JSON shows them. The
# regeneration's bulk reads and writes, the reads of many items, the item's document, `ItemOut`
# and the CSV derive their fields from it (tests/schemas/test_item_fields.py holds them to it).
ITEM_FIELDS: tuple[ItemField, ...] = (
    ItemField("team_id", Origin.PLACE, public=False),
    ItemField("checklist_id", Origin.PLACE, public=False),
    ItemField("project_id", Origin.PLACE, public=False),
    ItemField("id", Origin.IDENTITY),
    ItemField("key", Origin.IDENTITY),
    ItemField("kind", Origin.GENERATED),
    ItemField("position", Origin.GENERATED, public=False),
    ItemField("title", Origin.GENERATED),
    ItemField("detail", Origin.GENERATED),
    ItemField("phase", Origin.GENERATED),
    ItemField("done_when", Origin.GENERATED),
    ItemField("roles", Origin.GENERATED),
    ItemField("role_titles", Origin.COMPUTED),
    ItemField("owners", Origin.COMPUTED),
    ItemField("priority", Origin.GENERATED),
    ItemField("status", Origin.STATE),
    ItemField("status_before_obsolete", Origin.RECORD, public=False),
    ItemField("note", Origin.STATE),
    ItemField("waiver", Origin.STATE),
    ItemField("ticket", Origin.STATE),
    ItemField("signoff_required", Origin.GENERATED),
    ItemField("reviewer_roles", Origin.GENERATED),
    ItemField("reviewer_role_titles", Origin.COMPUTED),
    ItemField("reviewers", Origin.GENERATED),
    ItemField("signed_off_by", Origin.STATE),
    ItemField("signed_off_by_name", Origin.COMPUTED),
    ItemField("signed_off_at", Origin.STATE),
    ItemField("signed_off_with", Origin.STATE),
    ItemField("evidence_required", Origin.GENERATED),
    ItemField("evidence", Origin.STATE),
    ItemField("repeats", Origin.GENERATED),
    ItemField("because", Origin.GENERATED),
    ItemField("source", Origin.GENERATED),
    ItemField("version", Origin.RECORD),
    ItemField("created_at", Origin.RECORD),
    ItemField("updated_at", Origin.RECORD),
)


def item_fields(*origins: Origin, public: bool | None = None) -> tuple[str, ...]:
    """The names of the item's fields of these origins (any, when none is given), public or
    not (either, when None), in `ITEM_FIELDS`' order."""
    return tuple(
        f.name
        for f in ITEM_FIELDS
        if (not origins or f.origin in origins) and (public is None or f.public == public)
    )


# What the item's JSON form shows, in order (`ItemOut`, `documents.item_dict`, the CSV); and
# which of them are columns, read as they are stored.
PUBLIC_FIELDS = item_fields(public=True)
PUBLIC_COLUMNS = tuple(name for name in PUBLIC_FIELDS if name not in item_fields(Origin.COMPUTED))
# What regeneration compares with the generator's output and rewrites; and what an item keeps
# and hands over to the item that replaces it.
GENERATED_COLUMNS = item_fields(Origin.GENERATED)
STATE_COLUMNS = item_fields(Origin.STATE)


def _default_of(column: Column[Any]) -> Callable[[], Any]:
    """What gives the value SQLAlchemy gives the column on an ORM insert without one (its
    default, called afresh if callable; else None)."""
    default = column.default
    if not isinstance(default, ColumnDefault):
        return lambda: None
    if default.is_callable:
        # SQLAlchemy wraps a callable default into one that takes the execution context.
        return partial(default.arg, None)
    value = default.arg
    return lambda: value


_STATE_DEFAULTS = tuple(
    (name, _default_of(inspect(ChecklistItem).columns[name])) for name in STATE_COLUMNS
)


def new_item_state() -> dict[str, Any]:
    """A new item's state: each state column's default (`open`, no evidence), else None."""
    return {name: default() for name, default in _STATE_DEFAULTS}
