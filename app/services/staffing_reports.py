"""Staffing reports: role coverage and findings per project, and over-allocation team-wide."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Catalog
from app.config import Settings
from app.models import Assignment, Project
from app.services.checklist_generator import (
    StaffingEntry,
    StaffingReport,
    overallocated_members,
    staffing_report,
)
from app.services.checklists import (
    allocation_elsewhere,
    generator_settings,
    load_staffing,
    member_of,
    project_facts,
)


def project_staffing(
    session: Session, catalog: Catalog, project: Project, settings: Settings
) -> StaffingReport:
    entries = load_staffing(session, project)
    return staffing_report(
        catalog,
        project_facts(project),
        entries,
        allocation_elsewhere=allocation_elsewhere(
            session, project, (e.member.ref for e in entries)
        ),
        settings=generator_settings(settings),
    )


def team_staffing(
    session: Session, catalog: Catalog, team_id: str, settings: Settings
) -> dict[str, Any]:
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
            settings=generator_settings(settings),
        )
        reports.append((project, report))
    labels = {p.id: p.slug for p in projects}
    over = overallocated_members(
        (member_of(a.person), labels[a.project_id], a.allocation) for a in assignments
    )
    return {"projects": reports, "over_allocated": over}
