"""Stored checklists: generation and regeneration around the pure generator.

Regeneration keeps each item's state by key: new items start `open`, items that no longer apply
become `obsolete` (and get their old status back if they apply again). Every staffing or trait
change regenerates the checklists it touches in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.catalog import Catalog
from app.config import Settings
from app.errors import NotFound
from app.metrics import REGENERATIONS
from app.models import Assignment, Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.models.base import utcnow
from app.services.catalog import current_catalog
from app.services.checklist_documents import (
    checklist_links,
    load_owners,
    project_facts,
    project_header,
)
from app.services.checklist_generator import (
    GeneratedItem,
    GeneratorSettings,
    Member,
    StaffingEntry,
    generate_checklist,
    summarize,
)
from app.services.context import Context
from app.services.events import record_event
from app.services.locks import lock_checklists, lock_people, lock_projects
from app.services.waivers import expire_waivers, next_waiver_expiry, waivers_due


def generator_settings(settings: Settings) -> GeneratorSettings:
    return GeneratorSettings(settings.max_roles_per_person)


def member_of(person: Person) -> Member:
    return Member(person.id, person.name, person.email, tuple(sorted(person.handles.items())))


def load_staffing(session: Session, project: Project) -> list[StaffingEntry]:
    """The project's staffing as committed now (people read afresh, not from the session)."""
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.project_id == project.id)
        .options(joinedload(Assignment.person))
        .execution_options(populate_existing=True)
    )
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


def get_checklist(
    session: Session, team_id: str, project_ref: str, *, lock: bool = False
) -> tuple[Project, Checklist]:
    """The project and its checklist in one query; 404 when either is missing. With `lock`,
    the checklist is then locked and read afresh, as a write to its items needs."""
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
    if lock:
        lock_checklists(session, team_id, [project.id])
    return project, checklist


def generate(
    session: Session, ctx: Context, catalog: Catalog, project: Project
) -> tuple[Checklist, bool]:
    """Generate the project's checklist, or regenerate it; True when it was created.

    A checklist being created is not yet visible to the writers who regenerate the checklists
    of a person's projects, so its own project and people are locked first: a concurrent
    staffing change either commits before this reads the staffing, or sees the new checklist.
    """
    lock_projects(session, [project.id])
    lock_people(
        session,
        session.scalars(select(Assignment.person_id).where(Assignment.project_id == project.id)),
    )
    locked = lock_checklists(session, project.team_id, [project.id])
    created = not locked
    if locked:
        _, checklist = locked[0]
    else:
        checklist = Checklist(
            team_id=project.team_id, project_id=project.id, catalog_version=catalog.version
        )
        session.add(checklist)
        session.flush()
    _regenerate(session, ctx, catalog, project, checklist, created=created)
    return checklist, created


def refresh_checklists(
    session: Session, ctx: Context, team_id: str, project_ids: Iterable[str]
) -> None:
    """Regenerate the existing checklists of these projects (part of the caller's transaction),
    each under its lock, so that the last writer's checklist reflects every committed change."""
    rows = lock_checklists(session, team_id, project_ids)
    if not rows:
        return
    catalog = current_catalog(session)
    for project, checklist in rows:
        _regenerate(session, ctx, catalog, project, checklist, created=False)


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
    # New items that took over the state of an item stored under an old key: {key, replaces}.
    carried_over: list[dict[str, str]] = field(default_factory=list)
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
            "carried_over": self.carried_over,
        }


def _regenerate(
    session: Session,
    ctx: Context,
    catalog: Catalog,
    project: Project,
    checklist: Checklist,
    *,
    created: bool,
) -> RegenerationDiff:
    entries = load_staffing(session, project)
    elsewhere = allocation_elsewhere(session, project, (e.member.ref for e in entries))
    generated = generate_checklist(
        catalog,
        project_facts(project),
        entries,
        allocation_elsewhere=elsewhere,
        settings=generator_settings(ctx.settings),
    )
    existing = {
        item.key: item
        for item in session.scalars(
            select(ChecklistItem).where(ChecklistItem.checklist_id == checklist.id)
        )
    }
    if waivers_due(checklist):
        expire_waivers(
            session, ctx, checklist, list(existing.values()), load_owners(session, checklist)
        )
    diff = _compare(checklist, generated, existing, _owner_ids(session, checklist))
    if not (created or diff or checklist.catalog_version != catalog.version):
        REGENERATIONS.labels("unchanged").inc()
        return diff
    REGENERATIONS.labels("changed").inc()
    _write(session, diff)
    items_now = [*existing.values(), *diff.new_items]
    if not created:
        checklist.revision += 1
    checklist.catalog_version = catalog.version
    checklist.generated_at = utcnow()
    checklist.next_waiver_expiry = next_waiver_expiry(items_now)
    checklist.mark_changed()
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
            "summary": summarize([{"status": i.status, "kind": i.kind} for i in items_now]),
            "diff": diff.as_payload(),
            "links": checklist_links(ctx.settings.public_base_url, project),
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
            previous = _replaced_item(gen, existing)
            if previous is not None:
                for name in CARRIED_STATE:
                    setattr(item, name, getattr(previous, name))
                diff.carried_over.append({"key": gen.key, "replaces": previous.key})
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


# What an item under an old key hands over to the item that replaces it.
CARRIED_STATE: tuple[str, ...] = (
    "status",
    "note",
    "waiver",
    "ticket",
    "evidence",
    "signed_off_by",
    "signed_off_at",
)


def _replaced_item(
    gen: GeneratedItem, existing: Mapping[str, ChecklistItem]
) -> ChecklistItem | None:
    """The stored item, still in force, whose key `gen` replaces (the first, in catalog order)."""
    for old in gen.replaces:
        item = existing.get(old)
        if item is not None and item.status != "obsolete":
            return item
    return None


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
