"""Staffing as committed, read for many projects at once: who holds which role, and where
else each person is allocated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Assignment, Person, Project
from app.models.directory import PERSON_COLUMNS, handles_of
from app.services.checklists.facts import Member, StaffingEntry
from app.vocabulary import ProjectStatus


def staffing_of(session: Session, project_ids: Sequence[str]) -> dict[str, list[StaffingEntry]]:
    """Each project's staffing as committed now, people read as columns."""
    rows = session.execute(
        select(
            Assignment.project_id,
            Assignment.role_key,
            Assignment.allocation,
            Assignment.lead,
            *PERSON_COLUMNS,
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
