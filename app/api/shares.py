"""Read-only share links: to a project's checklist (made, listed and revoked under `/v1` with a
write key, opened at `/share/{token}`) and to the team dashboard (made and revoked with an admin
key, opened at `/share/dashboard/{token}`), by whoever holds the link, with no API key."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Response, current_app, g, request, url_for
from flask.views import MethodView
from sqlalchemy import Select

from app.api.checklists import FORMAT_TITLES, checklist_answer, formats, without_format
from app.api.common import V1Blueprint, v1_blueprint
from app.api.dashboard import DASHBOARD_FORMATS, DASHBOARD_RESPONSES, dashboard_answer
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.formats import SUFFIXES, negotiated
from app.http.idempotency import holds_a_secret
from app.http.pagination import paginated
from app.http.shares import open_share, share_used
from app.http.transaction import current_context
from app.models import Project, ShareLink
from app.render import FORMATS
from app.schemas.checklists import ChecklistOut, ChecklistQuery
from app.schemas.dashboard import DashboardOut, DashboardQuery
from app.schemas.shares import DashboardShareCreate, ShareCreate, ShareCreated, ShareOut
from app.services import shares
from app.services.directory.projects import get_project
from app.services.shares import LiveShare

blp = v1_blueprint("shares", __name__, "Read-only share links to a project's checklist")

# What a link's answer shows of it (`ShareOut`).
_SHOWN = tuple(ShareOut().fields)


def _project(project_ref: str) -> Project:
    return get_project(current_session(), current_team_id(), project_ref)


@blp.route("/projects/<string:project_ref>/checklist/shares")
class SharesView(MethodView):
    @paginated(blp, ShareOut)
    def get(self, project_ref: str) -> Select[ShareLink]:
        """List the project's share links, newest first, revoked and expired ones included
        (never their URLs)"""
        return shares.shares_query(_project(project_ref))

    @blp.arguments(ShareCreate)
    @blp.response(201, ShareCreated)
    def post(
        self, data: dict[str, Any], project_ref: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Make a share link: its `url` opens the project's checklist without an API key,
        read-only, until it expires (`expires_in_days`, 30 by default, a year at most) or is
        revoked; the answer holds the URL, shown only this once"""
        session = current_session()
        project = _project(project_ref)
        share, token = shares.create_share(
            session,
            current_context(),
            project,
            data["expires_in_days"],
            data.get("name"),
            tickets=data["tickets"],
        )
        location = url_for(".ShareView", project_ref=project.id, share_id=share.id)
        return _created(share, token, location)


@blp.route("/projects/<string:project_ref>/checklist/shares/<string:share_id>")
class ShareView(MethodView):
    @blp.response(200, ShareOut)
    def get(self, project_ref: str, share_id: str) -> tuple[ShareLink, int, dict[str, str]]:
        """One share link (never its URL)"""
        share = shares.get_share(current_session(), _project(project_ref), share_id)
        return share, 200, etag_header(share)

    @honours_if_match(blp)
    @blp.response(204)
    def delete(self, project_ref: str, share_id: str) -> None:
        """Revoke a share link: it opens nothing from now on (404); it stays listed (honours
        If-Match)"""
        session = current_session()
        project = _project(project_ref)
        share = shares.get_share(session, project, share_id, lock=True)
        check_if_match(share)
        shares.revoke_share(session, current_context(), project, share)


def _created(
    share: ShareLink, token: str, location: str
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A made link's answer: the only one that holds its URL (so never kept for a replay)."""
    holds_a_secret()
    base_url = current_app.config["SETTINGS"].public_base_url
    created = {name: getattr(share, name) for name in _SHOWN}
    answer = {**created, "url": shares.share_url(base_url, token, share.target)}
    return answer, 201, {**etag_header(share), "Location": location}


# --------------------------------------------------------------------------- dashboard links

dashboard_blp = v1_blueprint(
    "dashboard_shares",
    __name__,
    "Read-only share links to the team dashboard (made and revoked with `admin`)",
    write_scope="admin",
)


@dashboard_blp.route("/dashboard/shares")
class DashboardSharesView(MethodView):
    @paginated(dashboard_blp, ShareOut)
    def get(self) -> Select[ShareLink]:
        """List the team's dashboard share links, newest first, revoked and expired ones
        included (never their URLs)"""
        return shares.dashboard_shares_query(current_team_id())

    @dashboard_blp.arguments(DashboardShareCreate)
    @dashboard_blp.response(201, ShareCreated)
    def post(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Make a share link to the team dashboard (admin): its `url` opens the dashboard's
        page (or its JSON, by `Accept`) without an API key, read-only, until it expires
        (`expires_in_days`, 30 by default, a year at most) or is revoked; the answer holds the
        URL, shown only this once"""
        share, token = shares.create_dashboard_share(
            current_session(),
            current_context(),
            current_team_id(),
            data["expires_in_days"],
            data.get("name"),
        )
        return _created(share, token, url_for(".DashboardShareView", share_id=share.id))


@dashboard_blp.route("/dashboard/shares/<string:share_id>")
class DashboardShareView(MethodView):
    @dashboard_blp.response(200, ShareOut)
    def get(self, share_id: str) -> tuple[ShareLink, int, dict[str, str]]:
        """One dashboard share link (never its URL)"""
        share = shares.get_dashboard_share(current_session(), current_team_id(), share_id)
        return share, 200, etag_header(share)

    @honours_if_match(dashboard_blp)
    @dashboard_blp.response(204)
    def delete(self, share_id: str) -> None:
        """Revoke a dashboard share link (admin): it opens nothing from now on (404); it stays
        listed (honours If-Match)"""
        session = current_session()
        share = shares.get_dashboard_share(session, current_team_id(), share_id, lock=True)
        check_if_match(share)
        shares.revoke_share(session, current_context(), None, share)


# --------------------------------------------------------------------------- the link itself

share_blp = V1Blueprint(
    "share",
    __name__,
    url_prefix=shares.SHARE_PATH,
    description="What a share link opens: its project's checklist, read-only, with no API key",
)

# A browser asks for HTML: the page when the checklist has one, else Markdown.
DEFAULT_FORMAT = "html" if "html" in FORMATS else "markdown"
_SUFFIX_FORMATS = {suffix: fmt for fmt, suffix in SUFFIXES.items()}


@share_blp.before_request
def _open() -> None:
    # As an API key is, before anything else: a link unknown, revoked or expired is a 404
    # whatever was asked of it, and a live one spends its budget.
    g.share = open_share(str((request.view_args or {})["token"]))


def _opened(args: dict[str, Any], fmt: str) -> Response:
    share: LiveShare = g.share
    assert share.project_id is not None  # a checklist link
    response = checklist_answer(share.team_id, share.project_id, args, fmt)
    share_used(share)
    return response


def _documented(blueprint: V1Blueprint, view: Any) -> Any:
    view = blueprint.doc(security=[])(view)
    view = blueprint.alt_response(404, response="NOT_FOUND")(view)
    return blueprint.alt_response(429, response="TOO_MANY_REQUESTS")(view)


@share_blp.route("/<string:token>")
class SharedChecklistView(MethodView):
    @share_blp.arguments(ChecklistQuery, location="query")
    @share_blp.response(200, ChecklistOut)
    @formats(share_blp, ChecklistOut)
    @partial(_documented, share_blp)
    def get(self, args: dict[str, Any], token: str) -> Response:
        """The checklist the link opens, read-only, without an API key (filters and layout as
        the project's checklist); HTML by default where the checklist has it, else Markdown,
        the other formats by `Accept` or `format`; 404 for a link unknown, revoked or expired"""
        return negotiated(lambda fmt: _opened(args, fmt), default=DEFAULT_FORMAT)


def _format_path(fmt: str, suffix: str) -> None:
    def get(self: MethodView, args: dict[str, Any], token: str) -> Response:
        return _opened(args, fmt)

    get.__doc__ = (
        f"The checklist the link opens, in {FORMAT_TITLES.get(fmt, fmt)}\n\nThe answer of "
        f"`GET {shares.SHARE_PATH}/{{token}}?format={fmt}`; the suffix fixes the format."
    )
    text = {"schema": {"type": "string"}}
    doc = {"responses": {"200": {"description": "OK", "content": {FORMATS[fmt]: text}}}}
    view = share_blp.arguments(without_format(ChecklistQuery), location="query")(get)
    view = share_blp.response(200)(share_blp.doc(**doc)(_documented(share_blp, view)))
    endpoint = f"Shared{fmt.title()}View"
    share_blp.route(f"/<string:token>.{suffix}", endpoint=endpoint)(
        type(endpoint, (MethodView,), {"get": view})
    )


for _fmt, _suffix in SUFFIXES.items():
    _format_path(_fmt, _suffix)


# --------------------------------------------------------------------------- a dashboard link

dashboard_share_blp = V1Blueprint(
    "dashboard_share",
    __name__,
    url_prefix=shares.DASHBOARD_SHARE_PATH,
    description="What a dashboard share link opens: the team dashboard, read-only, with no key",
)


@dashboard_share_blp.before_request
def _open_dashboard() -> None:
    g.share = open_share(str((request.view_args or {})["token"]), "dashboard")


@dashboard_share_blp.route("/<string:token>")
class SharedDashboardView(MethodView):
    @dashboard_share_blp.arguments(DashboardQuery, location="query")
    @dashboard_share_blp.response(200, DashboardOut)
    @dashboard_share_blp.doc(responses=DASHBOARD_RESPONSES)
    @dashboard_share_blp.alt_response(406, response="NOT_ACCEPTABLE")
    @partial(_documented, dashboard_share_blp)
    def get(self, args: dict[str, Any], token: str) -> Response:
        """The team dashboard the link opens, read-only, without an API key: its page by
        default, JSON by `Accept` or `format`; 404 for a link unknown, revoked or expired"""

        def answer(fmt: str) -> Response:
            share: LiveShare = g.share
            response = dashboard_answer(share.team_id, fmt)
            share_used(share)
            return response

        return negotiated(answer, default="html", formats=DASHBOARD_FORMATS)
