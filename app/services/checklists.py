"""Stored checklists: generation and regeneration around the pure generator, reading, working
items, and the staffing reports.

Regeneration keeps each item's state by key: new items start `open`, items that no longer apply
become `obsolete` (and get their old status back if they apply again). Every staffing or trait
change regenerates the checklists it touches in the same transaction as the change.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.catalog import TRAITS, Catalog
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Assignment, Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.models.base import utcnow
from app.render import render
from app.services.catalog import catalog_for, current_catalog
from app.services.checklist_generator import (
    GeneratedItem,
    GeneratorSettings,
    Member,
    ProjectFacts,
    StaffingEntry,
    StaffingReport,
    generate_checklist,
    overallocated_members,
    staffing_report,
    summarize,
)
from app.services.events import record_event

# --------------------------------------------------------------------------- generator inputs


def generator_settings() -> GeneratorSettings:
    if has_app_context():
        return GeneratorSettings(current_app.config["SETTINGS"].max_roles_per_person)
    return GeneratorSettings()


def project_facts(project: Project) -> ProjectFacts:
    return ProjectFacts(project.application, frozenset(t for t, on in project.traits.items() if on))


def member_of(person: Person) -> Member:
    return Member(person.id, person.name, person.email, tuple(sorted(person.handles.items())))


def load_staffing(session: Session, project: Project) -> list[StaffingEntry]:
    assignments = session.scalars(select(Assignment).where(Assignment.project_id == project.id))
    return [
        StaffingEntry(member_of(a.person), a.role_key, a.allocation, a.lead) for a in assignments
    ]


def allocation_elsewhere(
    session: Session, project: Project, person_ids: Iterable[str]
) -> dict[str, int]:
    """Each person's allocation summed over the team's other active projects."""
    person_ids = list(set(person_ids))
    if not person_ids:
        return {}
    rows = session.execute(
        select(Assignment.person_id, func.coalesce(func.sum(Assignment.allocation), 0))
        .join(Project, Project.id == Assignment.project_id)
        .where(
            Assignment.person_id.in_(person_ids),
            Assignment.project_id != project.id,
            Project.status == "active",
        )
        .group_by(Assignment.person_id)
    )
    return {person_id: int(total) for person_id, total in rows}


# --------------------------------------------------------------------------- generation


def get_checklist(session: Session, team_id: str, project_ref: str) -> tuple[Project, Checklist]:
    """The project and its checklist in one query; 404 when either is missing."""
    row = session.execute(
        select(Project, Checklist)
        .outerjoin(Checklist, Checklist.project_id == Project.id)
        .where(Project.is_ref(team_id, project_ref))
    ).first()
    if row is None:
        raise NotFound(f"No project '{project_ref}' in this team.")
    project, checklist = row
    if checklist is None:
        raise NotFound(
            f"Project '{project_ref}' has no checklist yet; "
            f"POST /v1/projects/{project_ref}/checklist generates it."
        )
    return project, checklist


def generate(session: Session, catalog: Catalog, project: Project) -> tuple[Checklist, bool]:
    """Generate the project's checklist, or regenerate it; True when it was created."""
    checklist = session.scalar(select(Checklist).where(Checklist.project_id == project.id))
    created = checklist is None
    if checklist is None:
        checklist = Checklist(
            team_id=project.team_id, project_id=project.id, catalog_version=catalog.version
        )
        session.add(checklist)
        session.flush()
    _regenerate(session, catalog, project, checklist, created=created)
    session.commit()
    # Items made in this transaction hold owner rows without their people: read afresh.
    session.expire_all()
    return checklist, created


def refresh_checklists(session: Session, team_id: str, project_ids: Iterable[str]) -> None:
    """Regenerate the existing checklists of these projects (part of the caller's transaction)."""
    project_ids = set(project_ids)
    if not project_ids:
        return
    rows = session.execute(
        select(Project, Checklist)
        .join(Checklist, Checklist.project_id == Project.id)
        .where(Project.team_id == team_id, Project.id.in_(project_ids))
        .order_by(Project.id)
    ).all()
    if not rows:
        return
    catalog = current_catalog(session)
    for project, checklist in rows:
        _regenerate(session, catalog, project, checklist, created=False)


def touch_checklists(session: Session, project_ids: Iterable[str]) -> None:
    """Mark these projects' checklists changed though their items are not: what they show of
    the project or of people (names, slugs, emails) did change, so cached renderings and
    ETags must not be served again."""
    project_ids = list(set(project_ids))
    if project_ids:
        session.execute(
            update(Checklist)
            .where(Checklist.project_id.in_(project_ids))
            .values(state=Checklist.state + 1, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )


def projects_sharing_people(session: Session, person_ids: Iterable[str]) -> set[str]:
    """Projects where any of these people hold a role: their over-allocation findings depend on
    each other."""
    person_ids = list(set(person_ids))
    if not person_ids:
        return set()
    return set(
        session.scalars(
            select(Assignment.project_id).where(Assignment.person_id.in_(person_ids)).distinct()
        )
    )


@dataclass
class RegenerationDiff:
    """What a regeneration changed; `new_items` and `owners` are what it must write."""

    added: list[str] = field(default_factory=list)
    obsoleted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    owners_changed: list[dict[str, Any]] = field(default_factory=list)
    new_items: list[ChecklistItem] = field(default_factory=list)
    # The owners to write: item -> person ids in order (new items, and those whose owners changed).
    owners: dict[ChecklistItem, list[str]] = field(default_factory=dict)
    # Items that only moved (another item appeared or went before them): written in bulk.
    moved: dict[ChecklistItem, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any((self.added, self.obsoleted, self.restored, self.changed, self.owners_changed))

    def as_payload(self) -> dict[str, list[Any]]:
        return {
            "added": self.added,
            "obsoleted": self.obsoleted,
            "restored": self.restored,
            "changed": self.changed,
            "owners_changed": self.owners_changed,
        }


def _regenerate(
    session: Session, catalog: Catalog, project: Project, checklist: Checklist, *, created: bool
) -> RegenerationDiff:
    entries = load_staffing(session, project)
    elsewhere = allocation_elsewhere(session, project, (e.member.ref for e in entries))
    generated = generate_checklist(
        catalog,
        project_facts(project),
        entries,
        allocation_elsewhere=elsewhere,
        settings=generator_settings(),
    )
    existing = {
        item.key: item
        for item in session.scalars(
            select(ChecklistItem).where(ChecklistItem.checklist_id == checklist.id)
        )
    }
    if _waivers_due(checklist):
        _expire_waivers(
            session, checklist, list(existing.values()), load_owners(session, checklist)
        )
    diff = _compare(checklist, generated, existing, _owner_ids(session, checklist))
    if not (created or diff or checklist.catalog_version != catalog.version):
        return diff
    _write(session, diff)
    items_now = [*existing.values(), *diff.new_items]
    if not created:
        checklist.revision += 1
    checklist.catalog_version = catalog.version
    checklist.generated_at = utcnow()
    checklist.next_waiver_expiry = _next_waiver_expiry(items_now)
    _bump_state(checklist)
    record_event(
        session,
        project.team_id,
        "checklist.generated",
        {
            "project": project_header(project),
            "checklist": {
                "id": checklist.id,
                "revision": checklist.revision,
                "catalog_version": catalog.version,
            },
            "summary": summarize([{"status": i.status, "kind": i.kind} for i in items_now]),
            "diff": diff.as_payload(),
        },
        project_id=project.id,
    )
    return diff


def _owner_ids(session: Session, checklist: Checklist) -> dict[str, list[str]]:
    """Each stored item's owners as person ids, in order: plain rows, no objects to build."""
    rows = session.execute(
        select(ChecklistItemOwner.item_id, ChecklistItemOwner.person_id)
        .join(ChecklistItem, ChecklistItem.id == ChecklistItemOwner.item_id)
        .where(ChecklistItem.checklist_id == checklist.id)
        .order_by(ChecklistItemOwner.item_id, ChecklistItemOwner.position)
    )
    owners: dict[str, list[str]] = {}
    for item_id, person_id in rows:
        owners.setdefault(item_id, []).append(person_id)
    return owners


def _compare(
    checklist: Checklist,
    generated: Sequence[GeneratedItem],
    existing: dict[str, ChecklistItem],
    owner_ids: dict[str, list[str]],
) -> RegenerationDiff:
    """Bring the stored items in line with the generated ones, keeping each item's state."""
    diff = RegenerationDiff()
    for position, gen in enumerate(generated):
        values = _generated_values(gen, position)
        owners = [m.ref for m in gen.owners]
        item = existing.get(gen.key)
        if item is None:
            item = ChecklistItem(
                team_id=checklist.team_id,
                checklist_id=checklist.id,
                project_id=checklist.project_id,
                key=gen.key,
                status="open",
                **values,
            )
            diff.added.append(gen.key)
            diff.new_items.append(item)
            diff.owners[item] = owners
            continue
        if item.status == "obsolete":
            item.status = item.status_before_obsolete or "open"
            item.status_before_obsolete = None
            diff.restored.append(gen.key)
        changed = {f: v for f, v in values.items() if getattr(item, f) != v}
        if changed.keys() == {"position"}:
            diff.moved[item] = position
        elif changed:
            diff.changed.append(gen.key)
            for name, value in changed.items():
                setattr(item, name, value)
        before = owner_ids.get(item.id, [])
        if before != owners:
            diff.owners[item] = owners
            diff.owners_changed.append({"key": gen.key, "before": before, "after": owners})
    keys = {gen.key for gen in generated}
    for key, item in existing.items():
        if key not in keys and item.status != "obsolete":
            item.status_before_obsolete = item.status
            item.status = "obsolete"
            diff.obsoleted.append(key)
    return diff


def _write(session: Session, diff: RegenerationDiff) -> None:
    """Items through the unit of work, positions as one bulk update, owners as one bulk delete
    and one bulk insert."""
    session.add_all(diff.new_items)
    session.flush()
    if diff.moved:
        # Plain table UPDATE: moving an item is not a change of the item (no new version).
        table = ChecklistItem.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("item_id"))
            .values(position=bindparam("new_position")),
            [{"item_id": i.id, "new_position": pos} for i, pos in diff.moved.items()],
        )
        for item, position in diff.moved.items():
            set_committed_value(item, "position", position)
    if not diff.owners:
        return
    replaced = [item.id for item in diff.owners if item not in diff.new_items]
    if replaced:
        session.execute(delete(ChecklistItemOwner).where(ChecklistItemOwner.item_id.in_(replaced)))
    rows = [
        {"item_id": item.id, "person_id": person_id, "position": position}
        for item, person_ids in diff.owners.items()
        for position, person_id in enumerate(person_ids)
    ]
    if rows:
        session.execute(insert(ChecklistItemOwner), rows)
    for item in diff.owners:
        session.expire(item, ["owners"])


def _generated_values(gen: GeneratedItem, position: int) -> dict[str, Any]:
    return {
        "kind": gen.kind,
        "position": position,
        "title": gen.title,
        "detail": gen.detail,
        "roles": list(gen.roles),
        "priority": gen.priority,
        "because": list(gen.because),
        "source": dict(gen.source),
    }


def _bump_state(checklist: Checklist) -> None:
    # Incremented in SQL, so concurrent writers to different items never overwrite each other.
    checklist.state = Checklist.state + 1
    checklist.updated_at = utcnow()


def _next_waiver_expiry(items: Iterable[ChecklistItem]) -> date | None:
    dates = [
        date.fromisoformat(item.waiver["expires_on"])
        for item in items
        if item.status == "waived" and item.waiver and item.waiver.get("expires_on")
    ]
    return min(dates, default=None)


# --------------------------------------------------------------------------- reading


def today() -> date:
    return datetime.now(UTC).date()


def load_items(
    session: Session, checklist: Checklist
) -> tuple[list[ChecklistItem], dict[str, list[dict[str, Any]]]]:
    """The checklist's items in generated order and each item's owners (2 queries); waivers
    that have expired are turned back to `open` on the way."""
    items = list(
        session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.checklist_id == checklist.id)
            .order_by(ChecklistItem.position, ChecklistItem.key)
        )
    )
    owners = load_owners(session, checklist)
    if _waivers_due(checklist):
        _expire_waivers(session, checklist, items, owners)
        session.commit()
    return items, owners


def _waivers_due(checklist: Checklist) -> bool:
    return checklist.next_waiver_expiry is not None and checklist.next_waiver_expiry < today()


def expire_due_waivers(session: Session, checklists: Iterable[Checklist]) -> None:
    """Turn the expired waivers of these checklists back to `open` (for reads of single items
    or of one person's items; the whole-checklist read does it while loading)."""
    for checklist in checklists:
        if _waivers_due(checklist):
            items = list(
                session.scalars(
                    select(ChecklistItem).where(
                        ChecklistItem.checklist_id == checklist.id,
                        ChecklistItem.status == "waived",
                    )
                )
            )
            _expire_waivers(session, checklist, items, load_owners(session, checklist))
            session.commit()


def load_owners(session: Session, checklist: Checklist) -> dict[str, list[dict[str, Any]]]:
    """item id -> its owners as JSON objects, read as plain rows: one object per person, however
    many items they own."""
    rows = session.execute(
        select(
            ChecklistItemOwner.item_id,
            Person.id,
            Person.name,
            Person.email,
            Person.github,
            Person.jira,
            Person.linear,
        )
        .join(Person, Person.id == ChecklistItemOwner.person_id)
        .join(ChecklistItem, ChecklistItem.id == ChecklistItemOwner.item_id)
        .where(ChecklistItem.checklist_id == checklist.id)
        .order_by(ChecklistItemOwner.item_id, ChecklistItemOwner.position)
    )
    people: dict[str, dict[str, Any]] = {}
    owners: dict[str, list[dict[str, Any]]] = {}
    for item_id, person_id, name, email, github, jira, linear in rows:
        person = people.get(person_id)
        if person is None:
            handles = {"github": github, "jira": jira, "linear": linear}
            person = people[person_id] = {
                "id": person_id,
                "name": name,
                "email": email,
                "handles": {system: h for system, h in handles.items() if h},
            }
        owners.setdefault(item_id, []).append(person)
    return owners


def loaded_owners(item: ChecklistItem) -> list[dict[str, Any]]:
    """The owners of an item read with its `owners` relationship (single items)."""
    return [owner_dict(o.person) for o in item.owners]


def _expire_waivers(
    session: Session,
    checklist: Checklist,
    items: Sequence[ChecklistItem],
    owners: Mapping[str, list[dict[str, Any]]],
) -> None:
    project = session.get(Project, checklist.project_id)
    for item in items:
        waiver = item.waiver or {}
        expires = waiver.get("expires_on")
        if item.status == "waived" and expires and date.fromisoformat(expires) < today():
            item_owners = owners.get(item.id, [])
            before = item_snapshot(item, item_owners, project)
            item.status = "open"
            item.waiver = None
            record_event(
                session,
                checklist.team_id,
                "checklist.item.status_changed",
                {
                    "item": item_snapshot(item, item_owners, project),
                    "before": {"status": "waived", "waiver": waiver},
                    "after": {"status": "open", "waiver": None},
                    "reason": f"waiver expired on {expires}",
                    "previous": before,
                },
                project_id=checklist.project_id,
                actor="system",
            )
    checklist.next_waiver_expiry = _next_waiver_expiry(items)
    _bump_state(checklist)


def item_snapshot(
    item: ChecklistItem, owners: list[dict[str, Any]], project: Project | None = None
) -> dict[str, Any]:
    """What an event (and a webhook) says about an item: enough to open a ticket, and the
    item's API URL to link the ticket back."""
    snapshot = item_dict(item, owners)
    snapshot["url"] = f"/v1/projects/{item.project_id}/checklist/items/{item.id}"
    if project is not None:
        snapshot["project"] = {"id": project.id, "slug": project.slug, "name": project.name}
    return snapshot


def owner_dict(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "email": person.email, "handles": person.handles}


def item_dict(
    item: ChecklistItem,
    owners: list[dict[str, Any]],
    role_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An item's JSON form."""
    titles = role_titles or {}
    return {
        "id": item.id,
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "detail": item.detail,
        "roles": list(item.roles),
        "role_titles": [titles.get(r, r) for r in item.roles],
        "owners": owners,
        "priority": item.priority,
        "status": item.status,
        "note": item.note,
        "waiver": item.waiver,
        "ticket": item.ticket,
        "because": list(item.because),
        "source": item.source,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def project_header(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "application": project.application,
        "traits": sorted(t for t in TRAITS if project.traits[t]),
    }


def checklist_document(
    catalog: Catalog,
    project: Project,
    checklist: Checklist,
    items: Sequence[ChecklistItem],
    owners: Mapping[str, list[dict[str, Any]]],
    filters: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON form of a stored checklist: header, summary of all items, the filtered items."""
    titles = {role.key: role.title for role in catalog.roles}
    dicts = [item_dict(item, owners.get(item.id, []), titles) for item in items]
    return {
        "project": project_header(project),
        "checklist_id": checklist.id,
        "revision": checklist.revision,
        "catalog_version": checklist.catalog_version,
        "generated_at": checklist.generated_at.isoformat(),
        "summary": summarize(dicts),
        "filters": dict(filters),
        "items": [d for d in dicts if _matches(d, filters)],
    }


def _matches(item: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    if "kind" in filters and item["kind"] != filters["kind"]:
        return False
    if "status" in filters and item["status"] != filters["status"]:
        return False
    if "role" in filters and filters["role"] not in item["roles"]:
        return False
    return "person_id" not in filters or any(
        o["id"] == filters["person_id"] for o in item["owners"]
    )


class RenderCache:
    """Rendered checklists by (checklist, state, format, filters, day): reading an unchanged
    checklist again costs no rendering."""

    def __init__(self, size: int = 256) -> None:
        self._entries: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: str) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


render_cache = RenderCache()


def cache_key(checklist: Checklist, fmt: str, filters: Mapping[str, Any]) -> tuple[Any, ...]:
    return (checklist.id, checklist.state, fmt, tuple(sorted(filters.items())), today())


def rendered_checklist(
    session: Session,
    project: Project,
    checklist: Checklist,
    fmt: str,
    filters: Mapping[str, Any],
) -> str:
    key = cache_key(checklist, fmt, filters)
    cached = render_cache.get(key)
    if cached is not None:
        return cached
    items, owners = load_items(session, checklist)
    catalog = catalog_for(session, checklist.catalog_version)
    body = render(checklist_document(catalog, project, checklist, items, owners, filters), fmt)
    render_cache.put(cache_key(checklist, fmt, filters), body)
    return body


# --------------------------------------------------------------------------- working items


def get_item(session: Session, checklist: Checklist, id_or_key: str) -> ChecklistItem:
    expire_due_waivers(session, [checklist])
    column = ChecklistItem.id if id_or_key.startswith("itm_") else ChecklistItem.key
    item = session.scalar(
        select(ChecklistItem)
        .where(ChecklistItem.checklist_id == checklist.id, column == id_or_key)
        .options(selectinload(ChecklistItem.owners))
    )
    if item is None:
        raise NotFound(f"No item '{id_or_key}' in this checklist.")
    return item


def update_item(
    session: Session,
    project: Project,
    checklist: Checklist,
    item: ChecklistItem,
    data: Mapping[str, Any],
) -> ChecklistItem:
    """Apply a PATCH: status, note, waiver, ticket; each change is an event."""
    if item.status == "obsolete" and ("status" in data or data.get("waiver")):
        raise Conflict(
            "This item no longer applies to the project (obsolete); only its note and ticket "
            "can change."
        )
    status = data.get("status", item.status)
    waiver = item.waiver
    if "waiver" in data:
        waiver = _waiver_value(data["waiver"])
        if waiver is not None and "status" not in data:
            status = "waived"
    if status == "waived" and not waiver:
        raise ValidationFailed(
            "Waiving an item needs a reason.",
            errors={"waiver.reason": ["Required when the status is waived."]},
        )
    if status != "waived":
        waiver = None
    owners = loaded_owners(item)
    before = item_snapshot(item, owners, project)
    values = {"status": status, "waiver": waiver}
    for name in ("note", "ticket"):
        if name in data:
            values[name] = data[name]
    changed = {f: v for f, v in values.items() if getattr(item, f) != v}
    if not changed:
        return item
    for name, value in changed.items():
        setattr(item, name, value)
    after = item_snapshot(item, owners, project)
    if "status" in changed:
        _item_event(session, item, "checklist.item.status_changed", before, after, "status")
    if "ticket" in changed:
        _item_event(session, item, "checklist.item.ticket_linked", before, after, "ticket")
    if changed.keys() - {"status", "ticket"}:
        _item_event(session, item, "checklist.item.updated", before, after, "note")
    if "waiver" in changed or "status" in changed:
        checklist.next_waiver_expiry = _next_waiver_expiry(
            [item, *_other_waived(session, checklist, item)]
        )
    _bump_state(checklist)
    session.commit()
    return item


def _waiver_value(waiver: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if waiver is None:
        return None
    expires = waiver.get("expires_on")
    if expires is not None and expires < today():
        raise ValidationFailed(
            "A waiver cannot expire in the past.",
            errors={"waiver.expires_on": ["Must be today or later."]},
        )
    return {
        "reason": waiver["reason"],
        "approved_by": waiver.get("approved_by"),
        "expires_on": expires.isoformat() if expires else None,
    }


def _other_waived(
    session: Session, checklist: Checklist, item: ChecklistItem
) -> list[ChecklistItem]:
    return list(
        session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.checklist_id == checklist.id,
                ChecklistItem.status == "waived",
                ChecklistItem.id != item.id,
            )
        )
    )


def _item_event(
    session: Session,
    item: ChecklistItem,
    type_: str,
    before: dict[str, Any],
    after: dict[str, Any],
    focus: str,
) -> None:
    fields = {"status": ("status", "waiver"), "ticket": ("ticket",), "note": ("note", "waiver")}
    record_event(
        session,
        item.team_id,
        type_,
        {
            "item": after,
            "before": {f: before[f] for f in fields[focus]},
            "after": {f: after[f] for f in fields[focus]},
        },
        project_id=item.project_id,
    )


# --------------------------------------------------------------------------- people and staffing


def items_for_person(
    session: Session, team_id: str, person: Person, *, include_obsolete: bool = False
) -> list[tuple[Project, Checklist, ChecklistItem]]:
    """What one person owns across the team's projects, project by project."""
    expire_due_waivers(
        session,
        session.scalars(
            select(Checklist).where(
                Checklist.team_id == team_id, Checklist.next_waiver_expiry < today()
            )
        ),
    )
    stmt = (
        select(Project, Checklist, ChecklistItem)
        .join(Checklist, Checklist.project_id == Project.id)
        .join(ChecklistItem, ChecklistItem.checklist_id == Checklist.id)
        .join(ChecklistItemOwner, ChecklistItemOwner.item_id == ChecklistItem.id)
        .where(
            Project.team_id == team_id,
            ChecklistItem.team_id == team_id,
            ChecklistItemOwner.person_id == person.id,
        )
        .options(selectinload(ChecklistItem.owners))
        .order_by(Project.name, Project.id, ChecklistItem.position)
    )
    if not include_obsolete:
        stmt = stmt.where(ChecklistItem.status != "obsolete")
    return [(project, checklist, item) for project, checklist, item in session.execute(stmt)]


def project_staffing(session: Session, catalog: Catalog, project: Project) -> StaffingReport:
    entries = load_staffing(session, project)
    return staffing_report(
        catalog,
        project_facts(project),
        entries,
        allocation_elsewhere=allocation_elsewhere(
            session, project, (e.member.ref for e in entries)
        ),
        settings=generator_settings(),
    )


def team_staffing(session: Session, catalog: Catalog, team_id: str) -> dict[str, Any]:
    """Every active project's coverage and findings, and who is allocated over 100%."""
    projects = list(
        session.scalars(
            select(Project)
            .where(Project.team_id == team_id, Project.status == "active")
            .order_by(Project.name, Project.id)
        )
    )
    assignments = list(
        session.scalars(
            select(Assignment)
            .join(Project, Project.id == Assignment.project_id)
            .where(Assignment.team_id == team_id, Project.status == "active")
        )
    )
    by_project: dict[str, list[Assignment]] = {}
    for a in assignments:
        by_project.setdefault(a.project_id, []).append(a)
    totals: dict[str, int] = {}
    for a in assignments:
        totals[a.person_id] = totals.get(a.person_id, 0) + (a.allocation or 0)
    reports = []
    for project in projects:
        mine = by_project.get(project.id, [])
        entries = [
            StaffingEntry(member_of(a.person), a.role_key, a.allocation, a.lead) for a in mine
        ]
        own: dict[str, int] = {}
        for a in mine:
            own[a.person_id] = own.get(a.person_id, 0) + (a.allocation or 0)
        elsewhere = {pid: totals[pid] - own[pid] for pid in own}
        report = staffing_report(
            catalog,
            project_facts(project),
            entries,
            allocation_elsewhere=elsewhere,
            settings=generator_settings(),
        )
        reports.append((project, report))
    labels = {p.id: p.slug for p in projects}
    over = overallocated_members(
        (member_of(a.person), labels[a.project_id], a.allocation) for a in assignments
    )
    return {"projects": reports, "over_allocated": over}


def person_document(
    catalog: Catalog,
    person: Person,
    rows: Sequence[tuple[Project, Checklist, ChecklistItem]],
) -> dict[str, Any]:
    """One person's items across projects: a document per project, and all items together."""
    titles = {role.key: role.title for role in catalog.roles}
    by_project: dict[str, tuple[Project, Checklist, list[dict[str, Any]]]] = {}
    for project, checklist, item in rows:
        entry = by_project.setdefault(project.id, (project, checklist, []))
        entry[2].append(
            {**item_dict(item, loaded_owners(item), titles), "project": project_header(project)}
        )
    items = [item for *_, project_items in by_project.values() for item in project_items]
    return {
        "person": owner_dict(person),
        "summary": summarize(items),
        "items": items,
        "next_cursor": None,
        "projects": [
            {
                "project": project_header(project),
                "revision": checklist.revision,
                "catalog_version": checklist.catalog_version,
                "generated_at": checklist.generated_at.isoformat(),
                "summary": summarize(project_items),
                "items": project_items,
            }
            for project, checklist, project_items in by_project.values()
        ],
    }


def render_person_document(doc: Mapping[str, Any], fmt: str) -> str:
    """JSON and CSV take the items at once; Markdown and text render project by project."""
    if fmt in ("json", "csv"):
        return render({k: v for k, v in doc.items() if k != "projects"}, fmt)
    name = doc["person"]["name"]
    parts = [render(project_doc, fmt) for project_doc in doc["projects"]]
    heading = f"# Checklist items of {name}" if fmt == "markdown" else f"Checklist items of {name}"
    return "\n".join([heading, "", *parts]) if parts else heading + "\n\nNo items.\n"
