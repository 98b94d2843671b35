"""What a regeneration changes in stored checklists: their items read as rows (no ORM objects)
and compared with what the generator gives, into the new rows, updates and moves to write.

See `app.services.checklists.regeneration` for how a checklist is regenerated whole or within
a scope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from app.models import Checklist, ChecklistItem, ChecklistItemOwner, Project
from app.models.base import new_id, utcnow
from app.models.checklist import GENERATED_COLUMNS, new_item_state
from app.services.checklists.generated_items import GeneratedItem
from app.vocabulary import ItemStatus

ITEMS = ChecklistItem.__table__
OWNERS = ChecklistItemOwner.__table__


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


# What every read of an item needs (a `StoredItem`: its place, its state, and what the summary
# and the next waiver expiry count); and with the generated columns, all that comparing needs.
_STATE: tuple[str, ...] = (
    "checklist_id",
    *(f.name for f in fields(StoredItem) if f.name != "values"),
)
_FULL: tuple[str, ...] = (*_STATE, *(c for c in GENERATED_COLUMNS if c not in _STATE))


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


def read_items(
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
            stored.setdefault(row.checklist_id, {})[row.key] = stored_item(row._mapping, None)
    owner_ids: dict[str, list[str]] = {}
    if not (whole or keys):
        return stored, owner_ids
    for row in session.execute(select(*(ITEMS.c[c] for c in _FULL)).where(in_full)):
        values = {c: row._mapping[c] for c in GENERATED_COLUMNS}
        stored.setdefault(row.checklist_id, {})[row.key] = stored_item(row._mapping, values)
    owners = session.execute(
        select(OWNERS.c.item_id, OWNERS.c.person_id)
        .join(ITEMS, ITEMS.c.id == OWNERS.c.item_id)
        .where(in_full)
        .order_by(OWNERS.c.item_id, OWNERS.c.position)
    )
    for item_id, person_id in owners:
        owner_ids.setdefault(item_id, []).append(person_id)
    return stored, owner_ids


def stored_item(row: RowMapping | Mapping[str, Any], values: dict[str, Any] | None) -> StoredItem:
    """A stored item from its row (or from a new item's row dict)."""
    state = {c: row[c] for c in _STATE if c != "checklist_id"}
    return StoredItem(**state, values=values)


def compare(
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
    """The generated columns of `gen` at `position` (`GENERATED_COLUMNS`), valued as the
    item's JSON shows them."""
    values = gen.column_values()
    values["position"] = position
    return values


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
        **new_item_state(),
        "status_before_obsolete": None,
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
