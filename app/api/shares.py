"""Read-only share links to a project's checklist: made, listed and revoked under `/v1` (a
write key), and opened at `/share/{token}` by whoever holds the link, with no API key."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request, url_for
from flask.views import MethodView
from sqlalchemy import Select

from app.api.checklists import FORMAT_TITLES, checklist_answer, formats, without_format
from app.api.common import V1Blueprint, v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.formats import SUFFIXES, negotiated
from app.http.idempotency import holds_a_secret
from app.http.pagination import paginated
from app.http.shares import open_share, share_used
from app.http.transaction import current_context
from app.models import ChecklistShare, Project
from app.render import FORMATS
from app.schemas.checklists import ChecklistOut, ChecklistQuery
from app.schemas.shares import ShareCreate, ShareCreated, ShareOut
from app.services.checklists import shares
from app.services.checklists.shares import LiveShare
from app.services.directory.projects import get_project

blp = v1_blueprint("shares", __name__, "Read-only share links to a project's checklist")

# What a link's answer shows of it (`ShareOut`).
_SHOWN = tuple(ShareOut().fields)


def _project(project_ref: str) -> Project:
    return get_project(current_session(), current_team_id(), project_ref)


@blp.route("/projects/<string:project_ref>/checklist/shares")
class SharesView(MethodView):
    @paginated(blp, ShareOut)
    def get(self, project_ref: str) -> Select[ChecklistShare]:
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
            session, current_context(), project, data["expires_in_days"], data.get("name")
        )
        holds_a_secret()
        base_url = current_app.config["SETTINGS"].public_base_url
        location = url_for(".ShareView", project_ref=project.id, share_id=share.id)
        created = {name: getattr(share, name) for name in _SHOWN}
        answer = {**created, "url": shares.share_url(base_url, token)}
        return answer, 201, {**etag_header(share), "Location": location}


@blp.route("/projects/<string:project_ref>/checklist/shares/<string:share_id>")
class ShareView(MethodView):
    @blp.response(200, ShareOut)
    def get(self, project_ref: str, share_id: str) -> tuple[ChecklistShare, int, dict[str, str]]:
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
    response = checklist_answer(share.team_id, share.project_id, args, fmt)
    share_used(share)
    return response


def _documented(view: Any) -> Any:
    view = share_blp.doc(security=[])(view)
    view = share_blp.alt_response(404, response="NOT_FOUND")(view)
    return share_blp.alt_response(429, response="TOO_MANY_REQUESTS")(view)


@share_blp.route("/<string:token>")
class SharedChecklistView(MethodView):
    @share_blp.arguments(ChecklistQuery, location="query")
    @share_blp.response(200, ChecklistOut)
    @formats(share_blp, ChecklistOut)
    @_documented
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
    view = share_blp.response(200)(share_blp.doc(**doc)(_documented(view)))
    endpoint = f"Shared{fmt.title()}View"
    share_blp.route(f"/<string:token>.{suffix}", endpoint=endpoint)(
        type(endpoint, (MethodView,), {"get": view})
    )


for _fmt, _suffix in SUFFIXES.items():
    _format_path(_fmt, _suffix)
