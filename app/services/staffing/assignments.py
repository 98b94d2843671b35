"""Assignments: who holds which role on a project."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Assignment, Person, Project, utcnow
from app.services.catalog.keys import check_keys
from app.services.catalog.model import Catalog
from app.services.checklists.refresh import projects_sharing_people, refresh_checklists
from app.services.context import Context
from app.services.directory.emails import normalize_email
from app.services.directory.people import create_person, named_in, person_snapshot
from app.services.events import record_event
from app.services.locks import lock_directory, lock_people
from app.vocabulary import ProjectStatus


def assignment_snapshot(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "role": assignment.role_key,
        "person": person_snapshot(assignment.person),
        "allocation": assignment.allocation,
        "lead": assignment.lead,
    }


def list_assignments(session: Session, project: Project) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.project_id == project.id)
            .order_by(Assignment.created_at, Assignment.id)
        )
    )


def get_assignment(session: Session, project: Project, assignment_id: str) -> Assignment:
    assignment = session.scalar(
        select(Assignment).where(
            Assignment.project_id == project.id, Assignment.id == assignment_id
        )
    )
    if assignment is None:
        raise NotFound(f"No assignment '{assignment_id}' on this project.")
    return assignment


def _no_person(person_id: str, field: str) -> NotFound:
    message = f"No person '{person_id}' in this team."
    return NotFound(message, errors={field: [message]})


def _resolve_people(
    session: Session,
    ctx: Context,
    team_id: str,
    entries: Sequence[dict[str, Any]],
    paths: Sequence[str],
    others: Iterable[str] = (),
) -> list[Person]:
    """The person of each entry, by `person_id` or by the inline person's email; unknown
    inline people are created. A `person_id` not in the team is a 404 naming the entry's field
    (its path in `paths`, then `person_id`).

    The people named, and those of `others` (whose allocation the write changes too), are read
    in one statement, locked in the global order (`app.services.locks`): a deletion that
    commits first leaves its person unfound (a 404, or an inline person made anew), and one
    that comes later waits for this transaction."""
    ids, emails = named_in(entries)
    by_id, by_email = lock_directory(session, team_id, ids | set(others), emails)
    for entry, path in zip(entries, paths, strict=True):
        if "person_id" in entry and entry["person_id"] not in by_id:
            raise _no_person(entry["person_id"], f"{path}person_id")
    resolved = []
    for entry in entries:
        if "person_id" in entry:
            resolved.append(by_id[entry["person_id"]])
            continue
        email = normalize_email(entry["person"]["email"])
        if email not in by_email:
            by_email[email] = create_person(session, ctx, team_id, entry["person"])
        resolved.append(by_email[email])
    return resolved


def _new_assignment(project: Project, person: Person, data: dict[str, Any]) -> Assignment:
    return Assignment(
        team_id=project.team_id,
        project_id=project.id,
        person_id=person.id,
        person=person,
        role_key=data["role"],
        allocation=data.get("allocation"),
        lead=data.get("lead", False),
    )


def add_assignment(
    session: Session, ctx: Context, catalog: Catalog, project: Project, data: dict[str, Any]
) -> Assignment:
    """Put a person in a role; the caller holds the project's lock."""
    check_keys(catalog, roles={"role": data["role"]})
    (person,) = _resolve_people(session, ctx, project.team_id, [data], [""])
    duplicate = session.scalar(
        select(Assignment.id).where(
            Assignment.project_id == project.id,
            Assignment.person_id == person.id,
            Assignment.role_key == data["role"],
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"{person.name} already holds the role '{data['role']}' on this project ({duplicate})."
        )
    assignment = _new_assignment(project, person, data)
    session.add(assignment)
    session.flush()
    record_event(
        session,
        ctx,
        project.team_id,
        "assignment.created",
        {"assignment": assignment_snapshot(assignment)},
        project_id=project.id,
    )
    _refresh(session, ctx, project, moved=[person.id] if assignment.allocation else [])
    return assignment


def remove_assignment(
    session: Session, ctx: Context, project: Project, assignment: Assignment
) -> None:
    """Take a person out of a role; the caller holds the project's lock."""
    lock_people(session, [assignment.person_id])
    record_event(
        session,
        ctx,
        project.team_id,
        "assignment.deleted",
        {"assignment": assignment_snapshot(assignment)},
        project_id=project.id,
    )
    session.delete(assignment)
    session.flush()
    _refresh(session, ctx, project, moved=[assignment.person_id] if assignment.allocation else [])


def _refresh(session: Session, ctx: Context, project: Project, *, moved: Iterable[str]) -> None:
    """After a staffing change: give the project a new version (its ETag guards the staffing
    PUT) and regenerate its checklist. Other projects see this one only through the allocation
    of its people (their over-allocation findings count every active project), so of those
    whose allocation here `moved`, the other projects get these findings regenerated."""
    project.updated_at = utcnow()
    moved = set(moved) if project.status == ProjectStatus.ACTIVE else set()
    refresh_checklists(
        session,
        ctx,
        project.team_id,
        [project.id],
        colleagues=projects_sharing_people(session, moved),
        allocations_of=moved,
    )


def _allocations(pairs: Iterable[tuple[str, int | None]]) -> dict[str, int]:
    """Each person's allocation summed over their roles on the project."""
    totals: dict[str, int] = {}
    for person_id, allocation in pairs:
        totals[person_id] = totals.get(person_id, 0) + (allocation or 0)
    return totals


def replace_staffing(
    session: Session,
    ctx: Context,
    catalog: Catalog,
    project: Project,
    entries: Sequence[dict[str, Any]],
) -> list[Assignment]:
    """Make the project's staffing exactly `entries`, in one transaction; the caller holds the
    project's lock.

    Assignments that stay (same person, same role) keep their id and are updated in place.
    """
    check_keys(catalog, roles={f"assignments.{i}.role": e["role"] for i, e in enumerate(entries)})

    wanted: dict[tuple[str, str], tuple[dict[str, Any], Person]] = {}
    paths = [f"assignments.{index}." for index in range(len(entries))]
    assignments = list_assignments(session, project)
    # Everyone whose allocation this changes is locked before anything is read of them.
    others = [a.person_id for a in assignments]
    people = _resolve_people(session, ctx, project.team_id, entries, paths, others)
    for index, (entry, person) in enumerate(zip(entries, people, strict=True)):
        pair = (person.id, entry["role"])
        if pair in wanted:
            raise ValidationFailed(
                f"{person.name} is given the role '{entry['role']}' twice.",
                errors={f"assignments.{index}": ["Duplicate person and role."]},
            )
        wanted[pair] = (entry, person)

    before = _allocations((a.person_id, a.allocation) for a in assignments)
    current = {(a.person_id, a.role_key): a for a in assignments}
    added: list[Assignment] = []
    updated: list[Assignment] = []
    removed: list[dict[str, Any]] = []
    for pair, gone in current.items():
        if pair not in wanted:
            removed.append(assignment_snapshot(gone))
            session.delete(gone)
    result: list[Assignment] = []
    for pair, (entry, person) in wanted.items():
        assignment = current.get(pair)
        terms = (entry.get("allocation"), entry.get("lead", False))
        if assignment is None:
            assignment = _new_assignment(project, person, entry)
            session.add(assignment)
            added.append(assignment)
        elif (assignment.allocation, assignment.lead) != terms:
            assignment.allocation, assignment.lead = terms
            updated.append(assignment)
        result.append(assignment)
    if not (added or updated or removed):
        # The same staffing again (a retried PUT): nothing changed, so nothing is recorded.
        return result
    session.flush()
    record_event(
        session,
        ctx,
        project.team_id,
        "staffing.replaced",
        {
            "project": {"id": project.id, "slug": project.slug},
            "added": [assignment_snapshot(a) for a in added],
            "updated": [assignment_snapshot(a) for a in updated],
            "removed": removed,
        },
        project_id=project.id,
    )
    after = _allocations((p.id, e.get("allocation")) for e, p in wanted.values())
    moved = {pid for pid in before.keys() | after.keys() if before.get(pid, 0) != after.get(pid, 0)}
    _refresh(session, ctx, project, moved=moved)
    session.flush()
    return result
