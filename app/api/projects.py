"""Projects: registration, changes and archiving."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from sqlalchemy import Select

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.pagination import paginated
from app.http.transaction import current_context
from app.models import Project
from app.schemas.projects import ProjectCreate, ProjectListArgs, ProjectOut, ProjectUpdate
from app.services.catalog.store import current_catalog
from app.services.directory import projects

blp = v1_blueprint("projects", __name__, "Generative-AI projects")


@blp.route("/projects")
class ProjectsView(MethodView):
    @paginated(blp, ProjectOut, filters=ProjectListArgs)
    def get(self, args: dict[str, Any]) -> Select[Project]:
        """List projects, newest first (archived ones with `status=archived` or `all`)"""
        return projects.projects_query(current_team_id(), args.get("status", "active"))

    @blp.arguments(ProjectCreate)
    @blp.response(201, ProjectOut)
    def post(self, data: dict[str, Any]) -> tuple[Project, int, dict[str, str]]:
        """Register a project (slug derived from the name when not given)"""
        catalog = current_catalog(current_session())
        project = projects.create_project(
            current_session(), current_context(), catalog, current_team_id(), data
        )
        location = url_for(".ProjectView", project_ref=project.id)
        return project, 201, {**etag_header(project), "Location": location}


@blp.route("/projects/<string:project_ref>")
class ProjectView(MethodView):
    @blp.response(200, ProjectOut)
    def get(self, project_ref: str) -> tuple[Project, int, dict[str, str]]:
        """One project, by id or slug"""
        project = projects.get_project(current_session(), current_team_id(), project_ref)
        return project, 200, etag_header(project)

    @honours_if_match(blp)
    @blp.arguments(ProjectUpdate)
    @blp.response(200, ProjectOut)
    def patch(self, data: dict[str, Any], project_ref: str) -> tuple[Project, int, dict[str, str]]:
        """Change a project's details or traits (honours If-Match)"""
        session = current_session()
        project = projects.get_project(session, current_team_id(), project_ref, lock=True)
        check_if_match(project)
        catalog = current_catalog(session)
        project = projects.update_project(session, current_context(), catalog, project, data)
        return project, 200, etag_header(project)

    @honours_if_match(blp)
    @blp.response(200, ProjectOut)
    def delete(self, project_ref: str) -> tuple[Project, int, dict[str, str]]:
        """Archive a project: it leaves the default list but stays readable"""
        project = projects.get_project(current_session(), current_team_id(), project_ref, lock=True)
        check_if_match(project)
        project = projects.archive_project(current_session(), current_context(), project)
        return project, 200, etag_header(project)
