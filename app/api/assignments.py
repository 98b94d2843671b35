"""A project's staffing: who holds which role."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from sqlalchemy import Select

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.pagination import Page, page_schema, paginated
from app.http.transaction import current_context
from app.models import Assignment
from app.schemas.projects import AssignmentCreate, AssignmentOut, StaffingReplace
from app.services.catalog.store import current_catalog
from app.services.directory.projects import assignments_query, get_project
from app.services.staffing import assignments as staffing

blp = v1_blueprint("assignments", __name__, "Staffing: people in roles on a project")


@blp.route("/projects/<string:project_ref>/assignments")
class AssignmentsView(MethodView):
    @paginated(blp, AssignmentOut)
    def get(self, project_ref: str) -> Select[Assignment]:
        """List the project's assignments, newest first"""
        return assignments_query(get_project(current_session(), current_team_id(), project_ref))

    @blp.arguments(AssignmentCreate)
    @blp.response(201, AssignmentOut)
    def post(
        self, data: dict[str, Any], project_ref: str
    ) -> tuple[Assignment, int, dict[str, str]]:
        """Put a person in a role, by `person_id` or an inline `person` (found or created)"""
        session = current_session()
        project = get_project(session, current_team_id(), project_ref, lock=True)
        catalog = current_catalog(session)
        assignment = staffing.add_assignment(session, current_context(), catalog, project, data)
        location = url_for(".AssignmentView", project_ref=project.id, assignment_id=assignment.id)
        return assignment, 201, {"Location": location}

    @honours_if_match(blp)
    @blp.arguments(StaffingReplace)
    @blp.response(200, page_schema(AssignmentOut))
    def put(
        self, data: dict[str, Any], project_ref: str
    ) -> tuple[Page[Assignment], int, dict[str, str]]:
        """Replace the whole staffing in one transaction (honours If-Match on the project);
        the answer is the whole new staffing, on one page (a PUT holds at most 1,000)"""
        session = current_session()
        project = get_project(session, current_team_id(), project_ref, lock=True)
        check_if_match(project)
        result = staffing.replace_staffing(
            session,
            current_context(),
            current_catalog(session),
            project,
            data["assignments"],
        )
        return Page(result), 200, etag_header(project)


@blp.route("/projects/<string:project_ref>/assignments/<string:assignment_id>")
class AssignmentView(MethodView):
    @honours_if_match(blp)
    @blp.response(204)
    def delete(self, project_ref: str, assignment_id: str) -> None:
        """Take a person out of a role (honours If-Match on the project, as the staffing PUT)"""
        session = current_session()
        project = get_project(session, current_team_id(), project_ref, lock=True)
        check_if_match(project)
        assignment = staffing.get_assignment(session, project, assignment_id)
        staffing.remove_assignment(session, current_context(), project, assignment)
