"""Checklists: generate, read in any format, work the items, and preview without storing."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from app.api.common import v1_blueprint
from app.extensions import db
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header
from app.http.formats import formatted_response, negotiate_format, not_modified
from app.http.transaction import current_context
from app.models import Checklist, ChecklistItem, Project
from app.render import DEFAULT_GROUPING, Layout, render
from app.schemas.checklists import (
    ChecklistOut,
    ChecklistQuery,
    ItemOut,
    ItemUpdate,
    PreviewRequest,
    RenderQuery,
)
from app.services import (
    checklist_documents,
    checklist_items,
    checklist_reads,
    checklists,
    preview,
)
from app.services.catalog import catalog_for, check_keys, current_catalog
from app.services.people import get_person
from app.services.projects import get_project

blp = v1_blueprint("checklists", __name__, "Generated checklists and their items")
preview_blp = v1_blueprint(
    "preview", __name__, "A checklist from a project given in the body", write_scope="read"
)

FORMATS_DOC = {
    "responses": {
        "200": {
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            }
        },
    }
}


def formats(blueprint: Any) -> Any:
    """Document the text formats beside JSON, and the 406 for any other."""

    def decorate(view: Any) -> Any:
        view = blueprint.doc(**FORMATS_DOC)(view)
        return blueprint.alt_response(406, response="NOT_ACCEPTABLE")(view)

    return decorate


@blp.route("/projects/<string:project_ref>/checklist")
class ChecklistView(MethodView):
    @blp.arguments(ChecklistQuery, location="query")
    @blp.response(200, ChecklistOut)
    @formats(blp)
    def get(self, args: dict[str, Any], project_ref: str) -> Response:
        """The project's checklist, filtered by `role`, `status`, `kind`, `phase`, `person_id`;
        Markdown and text grouped by `group_by`, `compact` for one line an item"""
        fmt = negotiate_format()
        layout = _layout(args)
        filters = {k: v for k, v in args.items() if k not in RENDER_ARGS}
        if "role" in filters:
            check_keys(current_catalog(db.session), roles={"role": filters["role"]})
        project, checklist = checklists.get_checklist(db.session, current_team_id(), project_ref)
        if cached := not_modified(checklist_reads.checklist_etag(checklist, fmt, filters, layout)):
            return cached
        body = checklist_reads.rendered_checklist(
            db.session, current_context(), project, checklist, fmt, filters, layout
        )
        # Reading may have expired a waiver, a change of state: the ETag is taken afresh.
        etag = checklist_reads.checklist_etag(checklist, fmt, filters, layout)
        return formatted_response(body, fmt, etag=etag)

    @blp.arguments(RenderQuery, location="query")
    @blp.response(201, ChecklistOut)
    @blp.alt_response(200, schema=ChecklistOut, description="Regenerated")
    def post(self, args: dict[str, Any], project_ref: str) -> Response:
        """Generate the checklist (201), or regenerate it (200), e.g. after a catalog update"""
        fmt = negotiate_format()
        catalog = current_catalog(db.session)
        project = get_project(db.session, current_team_id(), project_ref)
        ctx = current_context()
        checklist, created = checklists.generate(db.session, ctx, catalog, project)
        body = checklist_reads.rendered_checklist(
            db.session, ctx, project, checklist, fmt, {}, _layout(args)
        )
        response = formatted_response(body, fmt, status=201 if created else 200)
        response.headers["Location"] = f"/v1/projects/{project.id}/checklist"
        return response


@blp.route("/projects/<string:project_ref>/checklist/items/<string:item_ref>")
class ChecklistItemView(MethodView):
    @blp.response(200, ItemOut)
    def get(self, project_ref: str, item_ref: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        """One item, by id or key"""
        _, checklist, item = _item(project_ref, item_ref)
        return _item_out(checklist, item), 200, etag_header(item)

    @blp.arguments(ItemUpdate)
    @blp.response(200, ItemOut)
    def patch(
        self, data: dict[str, Any], project_ref: str, item_ref: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Set an item's status, note, waiver or ticket link (honours If-Match)"""
        project, checklist, item = _item(project_ref, item_ref, lock=True)
        check_if_match(item)
        item = checklist_items.update_item(
            db.session, current_context(), project, checklist, item, data
        )
        return _item_out(checklist, item), 200, etag_header(item)


# Query arguments that shape a rendering rather than select items.
RENDER_ARGS = frozenset({"format", "group_by", "compact"})


def _layout(args: dict[str, Any]) -> Layout:
    group_by = args.get("group_by", DEFAULT_GROUPING)
    # Sections by role follow the catalog's order of roles.
    roles = current_catalog(db.session).role_keys if group_by == "role" else ()
    return Layout(group_by, bool(args.get("compact", False)), roles)


def _item(
    project_ref: str, item_ref: str, *, lock: bool = False
) -> tuple[Project, Checklist, ChecklistItem]:
    """The project, its checklist and one item; with `lock`, the checklist is locked first, so
    the item is read as committed by the writer before."""
    project, checklist = checklists.get_checklist(
        db.session, current_team_id(), project_ref, lock=lock
    )
    item = checklist_items.get_item(db.session, current_context(), checklist, item_ref)
    return project, checklist, item


def _item_out(checklist: Checklist, item: ChecklistItem) -> dict[str, Any]:
    # The catalog the checklist came from is in memory: no query for the role titles.
    catalog = catalog_for(db.session, checklist.catalog_version)
    titles = {r.key: r.title for r in catalog.roles}
    return checklist_documents.item_dict(item, checklist_documents.loaded_owners(item), titles)


@blp.route("/people/<string:person_id>/checklist-items")
class PersonItemsView(MethodView):
    @blp.arguments(RenderQuery, location="query")
    @blp.response(200, ChecklistOut)
    @formats(blp)
    def get(self, args: dict[str, Any], person_id: str) -> Response:
        """What one person owns across the team's projects (obsolete items left out)"""
        fmt = negotiate_format()
        person = get_person(db.session, current_team_id(), person_id)
        rows = checklist_reads.items_for_person(
            db.session, current_context(), current_team_id(), person
        )
        doc = checklist_documents.person_document(current_catalog(db.session), person, rows)
        body = checklist_documents.render_person_document(doc, fmt, _layout(args))
        return formatted_response(body, fmt)


@preview_blp.route("/checklists/preview")
class PreviewView(MethodView):
    @preview_blp.arguments(PreviewRequest)
    @preview_blp.arguments(RenderQuery, location="query")
    @preview_blp.response(200, ChecklistOut)
    @formats(preview_blp)
    def post(self, data: dict[str, Any], args: dict[str, Any]) -> Response:
        """A checklist for a project and its `assignments` (the staffing PUT's shape and
        rules) given in the body; nothing is stored"""
        fmt = negotiate_format()
        doc = preview.preview_document(
            db.session,
            current_team_id(),
            current_catalog(db.session),
            data,
            current_context().settings,
        )
        return formatted_response(render(doc, fmt, _layout(args)), fmt)
