"""Regenerating stored checklists in batches: items read as rows, compared with what the generator
gives, and the difference written with one statement per kind of change for all the checklists.

Each checklist keeps its items' state by key (see `app.services.checklists.refresh`). A checklist
can be
regenerated whole, or within a scope: the keys whose content may have changed, where every other
item can only have moved (the over-allocation findings of the people whose allocation on another
project changed). A scoped regeneration reads the other items' position and status only; when
the stored checklist is not what its inputs give outside the scope (another catalog version, a
waiver due, an item missing), it is regenerated whole instead, so either way it ends up exactly
as a whole regeneration leaves it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    inspect,
    or_,
    select,
)
from sqlalchemy import update as update_rows
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.metrics import REGENERATIONS
from app.models import Assignment, Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.models.base import new_id, utcnow
from app.models.directory import handles_of
from app.services.catalog.model import Catalog
from app.services.checklists.documents import (
    checklist_links,
    load_owners,
    project_facts,
    project_header,
)
from app.services.checklists.generator import (
    GeneratedItem,
    GeneratorSettings,
    Member,
    StaffingEntry,
    generate_checklist,
    summary_of,
)
from app.services.checklists.waivers import expire_waivers, next_waiver_expiry, waivers_due
from app.services.context import Context
from app.services.events import record_event
from app.vocabulary import ItemStatus, ProjectStatus

ITEMS = ChecklistItem.__table__
OWNERS = ChecklistItemOwner.__table__
CHECKLISTS = Checklist.__table__

# The columns the generator decides (`_generated_values`), and what an item under an old key
# hands over to the item that replaces it.
GENERATED: tuple[str, ...] = (
    "kind",
    "position",
    "title",
    "detail",
    "phase",
    "done_when",
    "roles",
    "priority",
    "because",
    "source",
    "signoff_required",
    "reviewer_roles",
    "reviewers",
    "evidence_required",
)
CARRIED_STATE: tuple[str, ...] = (
    "status",
    "note",
    "waiver",
    "ticket",
    "evidence",
    "signed_off_by",
    "signed_off_at",
)
# What every read of an item needs: its place, its state, and what the summary and the next
# waiver expiry count.
_STATE: tuple[str, ...] = (
    "id",
    "checklist_id",
    "key",
    "kind",
    "position",
    "status",
    "status_before_obsolete",
    "version",
    "waiver",
)
_FULL: tuple[str, ...] = (*_STATE, *(c for c in GENERATED if c not in _STATE))


@dataclass
class Target:
    """A checklist to regenerate (its lock held). `scope`: the only keys whose content may have
    changed, every other item at most moved; None regenerates it whole."""

    project: Project
    checklist: Checklist
    created: bool = False
    scope: frozenset[str] | None = None


@dataclass
class StoredItem:
    """A stored item as regeneration reads it: plain column values, no ORM object. `values`
    holds the generated columns, None when only the item's state was read."""

    id: str
    key: str
    kind: str
    position: int
    status: str
    status_before_obsolete: str | None
    version: int
    waiver: dict[str, Any] | None
    values: dict[str, Any] | None = None


@dataclass
class RegenerationDiff:
    """What a regeneration changed (the event's diff) and what it must write."""

    added: list[str] = field(default_factory=list)
    obsoleted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    owners_changed: list[dict[str, Any]] = field(default_factory=list)
    # New items that took over the state of an item stored under an old key: {key, replaces}.
    carried_over: list[dict[str, str]] = field(default_factory=list)
    # New rows to insert, and the stored item whose state each takes over (new id -> old id).
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    carry: dict[str, str] = field(default_factory=dict)
    # Stored items whose content, status or owners changed (a new version), and those that only
    # moved.
    updated: list[StoredItem] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)
    # The owners to write: item id -> person ids in order; `replaced`: stored items among them.
    owners: dict[str, list[str]] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.added, self.obsoleted, self.restored, self.changed, self.owners_changed))

    def as_payload(self) -> dict[str, list[Any]]:
        return {
            "added": self.added,
            "obsoleted": self.obsoleted,
            "restored": self.restored,
            "changed": self.changed,
            "owners_changed": self.owners_changed,
            "carried_over": self.carried_over,
        }


def regenerate(
    session: Session,
    ctx: Context,
    catalog: Catalog,
    settings: GeneratorSettings,
    targets: Sequence[Target],
) -> None:
    """Regenerate these checklists (their locks held) in one pass: a handful of reads for all of
    them, then one write per kind of change."""
    targets = [_whole_if_stale(session, ctx, catalog, t) for t in targets]
    if not targets:
        return
    staffing = staffing_of(session, [t.project.id for t in targets])
    allocations = active_allocations(
        session, {e.member.ref for entries in staffing.values() for e in entries}
    )
    generated = {
        t.project.id: generate_checklist(
            catalog,
            project_facts(t.project),
            staffing.get(t.project.id, []),
            allocation_elsewhere=elsewhere_of(allocations, t.project.id),
            settings=settings,
        )
        for t in targets
    }
    diffs: dict[str, tuple[Target, RegenerationDiff, dict[str, StoredItem]]] = {}
    pending = list(targets)
    while pending:
        stored, owner_ids = _read_items(session, pending)
        retry = []
        for target in pending:
            items = stored.get(target.checklist.id, {})
            diff = _compare(target, generated[target.project.id], items, owner_ids)
            if diff is None:
                # Not what its inputs give outside the scope: regenerate it whole.
                retry.append(Target(target.project, target.checklist, target.created))
            else:
                diffs[target.project.id] = (target, diff, items)
        pending = retry
    _carry_state(session, [diff for _, diff, _ in diffs.values()])
    written = []
    for target, diff, items in diffs.values():
        if target.created or diff or target.checklist.catalog_version != catalog.version:
            written.append((target, diff, items))
            REGENERATIONS.labels("changed").inc()
        else:
            REGENERATIONS.labels("unchanged").inc()
    _write_items(session, [diff for _, diff, _ in written])
    _write_checklists(session, ctx, catalog, written)


def _whole_if_stale(session: Session, ctx: Context, catalog: Catalog, target: Target) -> Target:
    """The target, whole when a scope cannot hold: another catalog version, or waivers due
    (reopened here first, as a whole regeneration does, through the items' workflow)."""
    checklist = target.checklist
    if waivers_due(checklist):
        items = list(
            session.scalars(
                select(ChecklistItem)
                .where(
                    ChecklistItem.checklist_id == checklist.id,
                    ChecklistItem.status == ItemStatus.WAIVED,
                )
                .execution_options(populate_existing=True)
            )
        )
        expire_waivers(session, ctx, checklist, items, load_owners(session, checklist))
        session.flush()
        return Target(target.project, checklist, target.created)
    if target.scope is not None and checklist.catalog_version != catalog.version:
        return Target(target.project, checklist, target.created)
    return target


def staffing_of(session: Session, project_ids: Sequence[str]) -> dict[str, list[StaffingEntry]]:
    """Each project's staffing as committed now, people read as columns."""
    rows = session.execute(
        select(
            Assignment.project_id,
            Assignment.role_key,
            Assignment.allocation,
            Assignment.lead,
            Person.id,
            Person.name,
            Person.email,
            Person.github,
            Person.jira,
            Person.linear,
        )
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.project_id.in_(project_ids))
    )
    members: dict[str, Member] = {}
    staffing: dict[str, list[StaffingEntry]] = {}
    for project_id, role, allocation, lead, person_id, name, email, *handles in rows:
        member = members.get(person_id)
        if member is None:
            member = Member(person_id, name, email, tuple(sorted(handles_of(*handles).items())))
            members[person_id] = member
        staffing.setdefault(project_id, []).append(StaffingEntry(member, role, allocation, lead))
    return staffing


def active_allocations(session: Session, person_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """person id -> active project id -> the person's allocation there, in one query."""
    person_ids = sorted(set(person_ids))
    if not person_ids:
        return {}
    rows = session.execute(
        select(
            Assignment.person_id,
            Assignment.project_id,
            func.coalesce(func.sum(Assignment.allocation), 0),
        )
        .join(Project, Project.id == Assignment.project_id)
        .where(Assignment.person_id.in_(person_ids), Project.status == ProjectStatus.ACTIVE)
        .group_by(Assignment.person_id, Assignment.project_id)
    )
    allocations: dict[str, dict[str, int]] = {}
    for person_id, project_id, total in rows:
        allocations.setdefault(person_id, {})[project_id] = int(total or 0)
    return allocations


def elsewhere_of(allocations: Mapping[str, Mapping[str, int]], project_id: str) -> dict[str, int]:
    """Each person's allocation summed over the team's active projects other than this one."""
    return {
        person_id: sum(total for other, total in projects.items() if other != project_id)
        for person_id, projects in allocations.items()
    }


def _read_items(
    session: Session, targets: Sequence[Target]
) -> tuple[dict[str, dict[str, StoredItem]], dict[str, list[str]]]:
    """The targets' items (checklist id -> key -> item), in full where whole or in scope, else
    their state only; and the owners of the items read in full (item id -> person ids)."""
    whole = [t.checklist.id for t in targets if t.scope is None]
    scoped = [t.checklist.id for t in targets if t.scope is not None]
    keys = sorted({key for t in targets if t.scope is not None for key in t.scope})
    in_full: ColumnElement[bool] = or_(
        ITEMS.c.checklist_id.in_(whole) if whole else false(),
        and_(ITEMS.c.checklist_id.in_(scoped), ITEMS.c.key.in_(keys)) if keys else false(),
    )
    stored: dict[str, dict[str, StoredItem]] = {}
    if scoped:
        for row in session.execute(
            select(*(ITEMS.c[c] for c in _STATE)).where(ITEMS.c.checklist_id.in_(scoped))
        ):
            stored.setdefault(row.checklist_id, {})[row.key] = _stored(row._mapping, None)
    owner_ids: dict[str, list[str]] = {}
    if not (whole or keys):
        return stored, owner_ids
    for row in session.execute(select(*(ITEMS.c[c] for c in _FULL)).where(in_full)):
        values = {c: row._mapping[c] for c in GENERATED}
        stored.setdefault(row.checklist_id, {})[row.key] = _stored(row._mapping, values)
    owners = session.execute(
        select(OWNERS.c.item_id, OWNERS.c.person_id)
        .join(ITEMS, ITEMS.c.id == OWNERS.c.item_id)
        .where(in_full)
        .order_by(OWNERS.c.item_id, OWNERS.c.position)
    )
    for item_id, person_id in owners:
        owner_ids.setdefault(item_id, []).append(person_id)
    return stored, owner_ids


def _stored(row: RowMapping | Mapping[str, Any], values: dict[str, Any] | None) -> StoredItem:
    """A stored item from its row (or from a new item's row dict)."""
    state = {c: row[c] for c in _STATE if c != "checklist_id"}
    return StoredItem(**state, values=values)


def _compare(
    target: Target,
    generated: Sequence[GeneratedItem],
    stored: dict[str, StoredItem],
    owner_ids: Mapping[str, list[str]],
) -> RegenerationDiff | None:
    """Bring the stored items in line with the generated ones, keeping each item's state; None
    when, outside the target's scope, the stored items are not the generated ones."""
    scope = target.scope
    diff = RegenerationDiff()
    for position, gen in enumerate(generated):
        item = stored.get(gen.key)
        if scope is not None and gen.key not in scope:
            if item is None or item.status == ItemStatus.OBSOLETE:
                return None
            if item.position != position:
                diff.moved[item.id] = position
            continue
        owners = [m.ref for m in gen.owners]
        values = _generated_values(gen, position)
        if item is None:
            row = _new_row(target.checklist, gen.key, values)
            previous = _replaced_item(gen, stored)
            if previous is not None:
                diff.carry[row["id"]] = previous.id
                diff.carried_over.append({"key": gen.key, "replaces": previous.key})
            diff.added.append(gen.key)
            diff.new_rows.append(row)
            diff.owners[row["id"]] = owners
            continue
        assert item.values is not None  # read in full: whole, or in the scope
        restored = item.status == ItemStatus.OBSOLETE
        if restored:
            item.status = item.status_before_obsolete or "open"
            item.status_before_obsolete = None
            diff.restored.append(gen.key)
        changed = {f: v for f, v in values.items() if item.values[f] != v}
        if changed.keys() - {"position"}:
            diff.changed.append(gen.key)
        before = owner_ids.get(item.id, [])
        # New owners are a change of the item too (its JSON shows them): a new version.
        new_owners = before != owners
        if changed.keys() == {"position"} and not (restored or new_owners):
            diff.moved[item.id] = position
        elif changed or restored or new_owners:
            item.values.update(changed)
            item.kind, item.position = item.values["kind"], position
            diff.updated.append(item)
        if new_owners:
            diff.owners[item.id] = owners
            diff.replaced.append(item.id)
            diff.owners_changed.append({"key": gen.key, "before": before, "after": owners})
    keys = {gen.key for gen in generated}
    for key, item in stored.items():
        if key in keys or item.status == ItemStatus.OBSOLETE:
            continue
        if scope is not None and key not in scope:
            return None
        item.status_before_obsolete = item.status
        item.status = "obsolete"
        diff.obsoleted.append(key)
        diff.updated.append(item)
    return diff


def _generated_values(gen: GeneratedItem, position: int) -> dict[str, Any]:
    return {
        "kind": gen.kind,
        "position": position,
        "title": gen.title,
        "detail": gen.detail,
        "phase": gen.phase,
        "done_when": gen.done_when,
        "roles": list(gen.roles),
        "priority": gen.priority,
        "because": list(gen.because),
        "source": dict(gen.source),
        "signoff_required": gen.signoff_required,
        "reviewer_roles": list(gen.reviewer_roles),
        "reviewers": [{"id": m.ref, "name": m.name} for m in gen.reviewers],
        "evidence_required": gen.evidence_required,
    }


def _new_row(checklist: Checklist, key: str, values: dict[str, Any]) -> dict[str, Any]:
    """A new item's row: every column given, so that all rows insert in one statement."""
    now = utcnow()
    return {
        "id": new_id(ChecklistItem.id_prefix),
        "team_id": checklist.team_id,
        "checklist_id": checklist.id,
        "project_id": checklist.project_id,
        "key": key,
        **values,
        "status": "open",
        "status_before_obsolete": None,
        "note": None,
        "waiver": None,
        "ticket": None,
        "evidence": [],
        "signed_off_by": None,
        "signed_off_at": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _replaced_item(gen: GeneratedItem, stored: Mapping[str, StoredItem]) -> StoredItem | None:
    """The stored item, still in force, whose key `gen` replaces (the first, in catalog order)."""
    for old in gen.replaces:
        item = stored.get(old)
        if item is not None and item.status != ItemStatus.OBSOLETE:
            return item
    return None


def _carry_state(session: Session, diffs: Sequence[RegenerationDiff]) -> None:
    """Hand each replaced item's state over to its new item (one query for all of them)."""
    wanted = {old for diff in diffs for old in diff.carry.values()}
    if not wanted:
        return
    rows = session.execute(
        select(ITEMS.c.id, *(ITEMS.c[c] for c in CARRIED_STATE)).where(ITEMS.c.id.in_(wanted))
    )
    state = {row.id: {c: row._mapping[c] for c in CARRIED_STATE} for row in rows}
    for diff in diffs:
        for row in diff.new_rows:
            old = diff.carry.get(row["id"])
            if old is not None:
                row.update(state[old])


def _write_items(session: Session, diffs: Sequence[RegenerationDiff]) -> None:
    """Every checklist's changes at once: one INSERT of the new items, one UPDATE (executemany)
    of the changed ones, one of the moved ones, and the owners as one DELETE and one INSERT."""
    new_rows = [row for diff in diffs for row in diff.new_rows]
    if new_rows:
        session.execute(insert(ITEMS), new_rows)
    updated = [item for diff in diffs for item in diff.updated]
    if updated:
        now = utcnow()
        # The version guards the item as an ORM write would: a stale one is refused.
        result = session.execute(
            update_rows(ITEMS)
            .where(ITEMS.c.id == bindparam("item_id"), ITEMS.c.version == bindparam("seen"))
            .values(version=ITEMS.c.version + 1),
            [
                {
                    "item_id": item.id,
                    "seen": item.version,
                    **(item.values or {}),
                    "status": item.status,
                    "status_before_obsolete": item.status_before_obsolete,
                    "updated_at": now,
                }
                for item in updated
            ],
        )
        assert isinstance(result, CursorResult)  # an UPDATE's result, which counts its rows
        if result.rowcount != len(updated):
            raise StaleDataError("A checklist item changed while its checklist was regenerated.")
    moved = [(item_id, pos) for diff in diffs for item_id, pos in diff.moved.items()]
    if moved:
        # Moving an item is not a change of the item (no new version).
        session.execute(
            update_rows(ITEMS)
            .where(ITEMS.c.id == bindparam("item_id"))
            .values(position=bindparam("new_position")),
            [{"item_id": item_id, "new_position": pos} for item_id, pos in moved],
        )
    replaced = [item_id for diff in diffs for item_id in diff.replaced]
    if replaced:
        session.execute(delete(OWNERS).where(OWNERS.c.item_id.in_(replaced)))
    owner_rows = [
        {"item_id": item_id, "person_id": person_id, "position": position}
        for diff in diffs
        for item_id, person_ids in diff.owners.items()
        for position, person_id in enumerate(person_ids)
    ]
    if owner_rows:
        session.execute(insert(OWNERS), owner_rows)


def _write_checklists(
    session: Session,
    ctx: Context,
    catalog: Catalog,
    written: Sequence[tuple[Target, RegenerationDiff, dict[str, StoredItem]]],
) -> None:
    """The regenerated checklists' new revision, state and next waiver expiry (one UPDATE for
    all), their loaded items forgotten, and a `checklist.generated` event each."""
    if not written:
        return
    now = utcnow()
    rows = []
    # Each checklist's items as they now stand, the new ones (and a waiver they carry) included.
    every = [
        [*items.values(), *(_stored(r, None) for r in diff.new_rows)] for _, diff, items in written
    ]
    for (target, _, _), items in zip(written, every, strict=True):
        checklist = target.checklist
        rows.append(
            {
                "checklist_id": checklist.id,
                "revision": checklist.revision + (0 if target.created else 1),
                "catalog_version": catalog.version,
                "generated_at": now,
                "next_waiver_expiry": next_waiver_expiry(items),
                "updated_at": now,
            }
        )
    # `state` goes up in SQL, as `Checklist.mark_changed` does.
    session.execute(
        update_rows(CHECKLISTS)
        .where(CHECKLISTS.c.id == bindparam("checklist_id"))
        .values(state=CHECKLISTS.c.state + 1),
        rows,
    )
    ids = {target.checklist.id for target, _, _ in written}
    for obj in list(session.identity_map.values()):
        # Items loaded earlier in the transaction no longer hold what is stored.
        if isinstance(obj, ChecklistItem) and obj.checklist_id in ids:
            session.expire(obj)
    for (target, diff, _), items, row in zip(written, every, rows, strict=True):
        checklist, project = target.checklist, target.project
        state = None if "state" in inspect(checklist).unloaded else checklist.state
        for name in ("revision", "catalog_version", "generated_at", "next_waiver_expiry"):
            set_committed_value(checklist, name, row[name])
        set_committed_value(checklist, "updated_at", now)
        if state is None:
            session.expire(checklist, ["state"])
        else:
            # Read under the checklist's lock: nobody else moved it meanwhile.
            set_committed_value(checklist, "state", state + 1)
        record_event(
            session,
            ctx,
            project.team_id,
            "checklist.generated",
            {
                "project": project_header(project, catalog),
                "checklist": {
                    "id": checklist.id,
                    "revision": checklist.revision,
                    "catalog_version": catalog.version,
                },
                "summary": summary_of(Counter((i.status, i.kind) for i in items)),
                "diff": diff.as_payload(),
                "links": checklist_links(ctx.settings.public_base_url, project),
            },
            project_id=project.id,
        )
