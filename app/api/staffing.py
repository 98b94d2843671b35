"""Staffing reports: role coverage and findings, per project and team-wide."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.pagination import PageRequest, SortKey, paged
from app.http.transaction import current_context
from app.models import Project
from app.schemas.staffing import StaffingReportOut, TeamStaffingOut
from app.services.catalog.store import current_catalog
from app.services.checklists import documents as checklist_documents
from app.services.directory.projects import get_project
from app.services.staffing import reports as staffing_reports

blp = v1_blueprint("staffing", __name__, "Role coverage and staffing findings")


@blp.route("/projects/<string:project_ref>/staffing")
class ProjectStaffingView(MethodView):
    @blp.response(200, StaffingReportOut)
    def get(self, project_ref: str) -> dict[str, Any]:
        """Per role: who holds it and whether it is required; and the findings"""
        session = current_session()
        project = get_project(session, current_team_id(), project_ref)
        catalog = current_catalog(session)
        report = staffing_reports.project_staffing(
            session, catalog, project, current_context().settings
        )
        return {
            "project": checklist_documents.project_header(project, catalog),
            "roles": report.roles,
            "findings": report.findings,
        }


# The order of the team report's projects, as their cursors hold it.
TEAM_STAFFING_ORDER = (SortKey(Project.name), SortKey(Project.id))


@blp.route("/staffing")
class TeamStaffingView(MethodView):
    @paged(blp, TEAM_STAFFING_ORDER)
    @blp.response(200, TeamStaffingOut)
    def get(self, page: PageRequest) -> dict[str, Any]:
        """The team's active projects, a page at a time (by name), each with its coverage and
        findings; and who is allocated over 100% across all of them"""
        session = current_session()
        catalog = current_catalog(session)
        team_id = current_team_id()
        projects = page.fetch(staffing_reports.active_projects_query(team_id))
        team = staffing_reports.team_staffing(
            session, catalog, team_id, current_context().settings, projects
        )
        return {
            "projects": [
                {
                    "project": checklist_documents.project_header(project, catalog),
                    "roles": report.roles,
                    "findings": report.findings,
                }
                for project, report in team["projects"]
            ],
            "over_allocated": team["over_allocated"],
            "next_cursor": page.next_cursor,
        }
