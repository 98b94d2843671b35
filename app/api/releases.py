"""A project's releases: open one (its gates reopen), read them, ship one (the go/no-go)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from sqlalchemy import Select

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.pagination import SortKey, paginated
from app.http.transaction import current_context
from app.models import Release
from app.schemas.releases import ReleaseCreate, ReleaseOut, ReleaseUpdate
from app.services.directory.projects import get_project
from app.services.locks import lock_checklists
from app.services.releases import releases

blp = v1_blueprint("releases", __name__, "A project's releases and their go/no-go")

# Newest first: by when each was opened.
RELEASE_ORDER = (
    SortKey(Release.opened_at, descending=True),
    SortKey(Release.id, descending=True),
)


def _etag(release: Release, checklist_state: int | None) -> dict[str, str]:
    return etag_header(release, *releases.etag_parts(release, checklist_state))


@blp.route("/projects/<string:project_ref>/releases")
class ReleasesView(MethodView):
    @paginated(blp, ReleaseOut, order=RELEASE_ORDER)
    def get(self, project_ref: str) -> Select[Release]:
        """List the project's releases, newest first"""
        project = get_project(current_session(), current_team_id(), project_ref)
        return releases.releases_query(project)

    @blp.arguments(ReleaseCreate)
    @blp.response(201, ReleaseOut)
    def post(self, data: dict[str, Any], project_ref: str) -> tuple[Release, int, dict[str, str]]:
        """Open a release (version unique in the project): it supersedes an open one, and the
        checklist's release gates reopen for it (the model's too when the model changed)"""
        session = current_session()
        project = get_project(session, current_team_id(), project_ref)
        release = releases.open_release(session, current_context(), project, data)
        location = url_for(".ReleaseView", project_ref=project.id, version=release.version)
        state = releases.checklist_state(session, project)
        return release, 201, {**_etag(release, state), "Location": location}


@blp.route("/projects/<string:project_ref>/releases/<string:version>")
class ReleaseView(MethodView):
    @blp.response(200, ReleaseOut)
    def get(self, project_ref: str, version: str) -> tuple[Release, int, dict[str, str]]:
        """One release, by its version"""
        session = current_session()
        project = get_project(session, current_team_id(), project_ref)
        release = releases.get_release(session, project, version)
        return release, 200, _etag(release, releases.checklist_state(session, project))

    @honours_if_match(blp)
    @blp.arguments(ReleaseUpdate)
    @blp.response(200, ReleaseOut)
    def patch(
        self, data: dict[str, Any], project_ref: str, version: str
    ) -> tuple[Release, int, dict[str, str]]:
        """Ship the release (`{"status": "shipped"}`): 409 naming the critical release gates
        that hold it in `blocking` (honours If-Match: the ETag changes with the checklist too)"""
        session = current_session()
        team_id = current_team_id()
        project = get_project(session, team_id, project_ref)
        locked = lock_checklists(session, team_id, [project.id])
        checklist = locked[0][1] if locked else None
        release = releases.get_release(session, project, version, lock=True)
        state = checklist.state if checklist is not None else None
        check_if_match(release, *releases.etag_parts(release, state))
        release = releases.ship_release(session, current_context(), project, checklist, release)
        return release, 200, _etag(release, releases.checklist_state(session, project))
