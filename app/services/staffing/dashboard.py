"""The team dashboard: per active project its items' counts, open and unsigned gates, waivers
about to expire and staffing findings; team-wide the role coverage and each person's load."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import ChecklistItem, Project
from app.services.catalog.model import Catalog
from app.services.checklists.facts import Member
from app.services.checklists.lapses import as_read, today
from app.services.staffing.findings import MAX_ALLOCATION, StaffingReport
from app.services.staffing.reports import active_projects_query, team_staffing
from app.vocabulary import CoverageState, ItemStatus, Priority

# A waiver "about to expire" ends within this many days (today included).
EXPIRING_WITHIN = timedelta(days=30)
# The gates a lead looks at first.
URGENT = (Priority.CRITICAL, Priority.HIGH)
_SETTLED = (ItemStatus.DONE, ItemStatus.WAIVED, ItemStatus.OBSOLETE)


@dataclass(frozen=True)
class Gate:
    key: str
    title: str
    priority: str
    status: str


@dataclass(frozen=True)
class ExpiringWaiver:
    key: str
    title: str
    expires_on: date


@dataclass(frozen=True)
class ProjectDashboard:
    project: Project
    report: StaffingReport
    has_checklist: bool
    by_status: dict[str, int]
    by_priority: dict[str, int]
    open_gates: list[Gate]
    unsigned_gates: list[Gate]
    expiring_waivers: list[ExpiringWaiver]


@dataclass(frozen=True)
class Load:
    """A person's allocation summed across the team's active projects, by project slug."""

    member: Member
    total: int
    breakdown: tuple[tuple[str, int], ...]

    @property
    def over(self) -> bool:
        return self.total > MAX_ALLOCATION


@dataclass(frozen=True)
class CoverageCell:
    project_id: str
    state: str
    holders: tuple[str, ...]


@dataclass(frozen=True)
class CoverageRow:
    role_key: str
    title: str
    cells: tuple[CoverageCell, ...]


@dataclass(frozen=True)
class Dashboard:
    on: date
    projects: list[ProjectDashboard]
    coverage: list[CoverageRow]
    loads: list[Load]


def team_dashboard(
    session: Session, catalog: Catalog, team_id: str, settings: Settings
) -> Dashboard:
    """The dashboard of team `team_id`'s active projects (by name), in a fixed number of
    statements however many projects, items and people it holds. Waivers whose day has passed
    count as their items read (open), as every read shows them."""
    on = today()
    projects = list(
        session.scalars(active_projects_query(team_id).order_by(Project.name, Project.id))
    )
    staffing = dict(
        (project.id, report)
        for project, report in team_staffing(session, catalog, team_id, settings, projects)[
            "projects"
        ]
    )
    items: dict[str, list[Any]] = defaultdict(list)
    if projects:
        rows = session.execute(
            select(
                ChecklistItem.project_id,
                ChecklistItem.key,
                ChecklistItem.title,
                ChecklistItem.priority,
                ChecklistItem.status,
                ChecklistItem.waiver,
                ChecklistItem.signoff_required,
                ChecklistItem.signed_off_at,
                ChecklistItem.repeats,
            )
            .where(
                ChecklistItem.team_id == team_id,
                ChecklistItem.project_id.in_([p.id for p in projects]),
            )
            .order_by(ChecklistItem.project_id, ChecklistItem.position)
        )
        for row in rows:
            items[row.project_id].append(row)
    loads = _loads(projects, staffing)
    over = {load.member.ref for load in loads if load.over}
    return Dashboard(
        on=on,
        projects=[_project(p, staffing[p.id], items.get(p.id, []), on) for p in projects],
        coverage=_coverage(projects, staffing, over),
        loads=loads,
    )


def _project(
    project: Project, report: StaffingReport, rows: list[Any], on: date
) -> ProjectDashboard:
    by_status = {status.value: 0 for status in ItemStatus}
    by_priority = {priority.value: 0 for priority in Priority}
    open_gates: list[Gate] = []
    unsigned: list[Gate] = []
    expiring: list[ExpiringWaiver] = []
    for row in rows:
        status, waiver = as_read(row.status, row.waiver)
        by_status[status] = by_status.get(status, 0) + 1
        if status == ItemStatus.OBSOLETE:
            continue
        by_priority[row.priority] = by_priority.get(row.priority, 0) + 1
        gate = Gate(row.key, row.title, row.priority, status)
        is_gate = bool(row.repeats) or row.signoff_required
        if is_gate and row.priority in URGENT and status not in _SETTLED:
            open_gates.append(gate)
        if row.signoff_required and row.signed_off_at is None and status != ItemStatus.WAIVED:
            unsigned.append(gate)
        if status == ItemStatus.WAIVED and waiver and waiver.get("expires_on"):
            expires_on = date.fromisoformat(waiver["expires_on"])
            if expires_on < on + EXPIRING_WITHIN:
                expiring.append(ExpiringWaiver(row.key, row.title, expires_on))
    open_gates.sort(key=lambda g: URGENT.index(Priority(g.priority)))
    expiring.sort(key=lambda w: (w.expires_on, w.key))
    return ProjectDashboard(
        project=project,
        report=report,
        has_checklist=bool(rows),
        by_status=by_status,
        by_priority=by_priority,
        open_gates=open_gates,
        unsigned_gates=unsigned,
        expiring_waivers=expiring,
    )


def _loads(projects: list[Project], staffing: dict[str, StaffingReport]) -> list[Load]:
    members: dict[str, Member] = {}
    per_project: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for project in projects:
        for role in staffing[project.id].roles:
            for entry in role.holders:
                members.setdefault(entry.member.ref, entry.member)
                per_project[entry.member.ref][project.slug] += entry.allocation or 0
    loads = [
        Load(
            members[ref],
            sum(slugs.values()),
            tuple(sorted(slugs.items(), key=lambda p: (-p[1], p[0]))),
        )
        for ref, slugs in per_project.items()
    ]
    loads.sort(key=lambda load: (-load.total, load.member.name.casefold(), load.member.ref))
    return loads


def _coverage(
    projects: list[Project], staffing: dict[str, StaffingReport], over: set[str]
) -> list[CoverageRow]:
    if not projects:
        return []
    titles: dict[str, str] = {}
    cells: dict[str, list[CoverageCell]] = defaultdict(list)
    for project in projects:
        for role in staffing[project.id].roles:
            titles.setdefault(role.role_key, role.title)
            holders = tuple(e.member.name for e in role.holders)
            if any(e.member.ref in over for e in role.holders):
                state = CoverageState.OVER_ALLOCATED
            elif holders:
                state = CoverageState.FILLED
            elif role.required:
                state = CoverageState.UNFILLED_REQUIRED
            else:
                state = CoverageState.NOT_NEEDED
            cells[role.role_key].append(CoverageCell(project.id, state, holders))
    return [CoverageRow(key, titles[key], tuple(cells[key])) for key in titles]
