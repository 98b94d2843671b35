"""Staffing reports: role coverage and findings per project, and over-allocation team-wide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Assignment, Project
from app.services.catalog.model import Catalog
from app.services.checklists.generator import (
    StaffingEntry,
    StaffingReport,
    overallocated_members,
    staffing_report,
)
from app.services.checklists.refresh import generator_settings, member_of, project_facts
from app.services.staffing.findings import MAX_ALLOCATION
from app.services.staffing.reads import active_allocations, elsewhere_of, staffing_of
from app.vocabulary import ProjectStatus


def project_staffing(
    session: Session, catalog: Catalog, project: Project, settings: Settings
) -> StaffingReport:
    """The project's coverage and findings, its staffing read as a regeneration reads it."""
    entries = staffing_of(session, [project.id]).get(project.id, [])
    allocations = active_allocations(session, (e.member.ref for e in entries))
    return staffing_report(
        catalog,
        project_facts(project),
        entries,
        allocation_elsewhere=elsewhere_of(allocations, project.id),
        settings=generator_settings(settings),
    )


def active_projects_query(team_id: str) -> Select[Project]:
    """The team's active projects, whose staffing the team report shows (a page at a time)."""
    return select(Project).where(*_active(team_id))


def _active(team_id: str) -> tuple[ColumnElement[bool], ...]:
    return (Project.team_id == team_id, Project.status == ProjectStatus.ACTIVE)


def team_staffing(
    session: Session,
    catalog: Catalog,
    team_id: str,
    settings: Settings,
    projects: Sequence[Project],
) -> dict[str, Any]:
    """The coverage and findings of `projects` (a page of `active_projects_query`), and who
    is allocated over 100% across all the team's active projects (on every page: it is the
    team's)."""
    active = _active(team_id)
    staffed = (
        select(Assignment)
        .join(Project, Project.id == Assignment.project_id)
        .where(Assignment.team_id == team_id, *active)
    )
    totals = dict(
        session.execute(
            select(Assignment.person_id, func.sum(func.coalesce(Assignment.allocation, 0)))
            .join(Project, Project.id == Assignment.project_id)
            .where(Assignment.team_id == team_id, *active)
            .group_by(Assignment.person_id)
        ).all()
    )
    by_project: dict[str, list[Assignment]] = {}
    page_ids = [p.id for p in projects]
    for a in session.scalars(staffed.where(Assignment.project_id.in_(page_ids))):
        by_project.setdefault(a.project_id, []).append(a)
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
            settings=generator_settings(settings),
        )
        reports.append((project, report))
    over_ids = [person_id for person_id, total in totals.items() if total > MAX_ALLOCATION]
    over = overallocated_members(
        (member_of(a.person), slug, a.allocation)
        for a, slug in session.execute(
            staffed.add_columns(Project.slug).where(Assignment.person_id.in_(over_ids))
        )
    )
    return {"projects": reports, "over_allocated": over}
