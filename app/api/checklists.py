"""Checklists: generate, read in any format, work the items, and preview without storing."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import marshmallow as ma
from flask import Response, url_for
from flask.views import MethodView

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match, make_etag, not_modified
from app.http.formats import SUFFIXES, formatted_response, negotiated
from app.http.pagination import PageRequest, SortKey, paged, paginated
from app.http.transaction import current_context
from app.models import Checklist, ChecklistItem, ChecklistRevision, Project
from app.render import DEFAULT_GROUPING, DEFAULT_LAYOUT, FORMATS, LAID_OUT, Layout, render
from app.schemas.checklists import (
    CHECKLIST_EXAMPLE,
    ChecklistOut,
    ChecklistQuery,
    ChecklistRevisionOut,
    PersonItemsOut,
    PreviewRequest,
    RecordedChecklistOut,
    RenderQuery,
)
from app.schemas.items import ItemOut, ItemUpdate
from app.services.catalog.keys import check_keys
from app.services.catalog.store import catalog_for, current_catalog
from app.services.checklists import documents as checklist_documents
from app.services.checklists import items as checklist_items
from app.services.checklists import preview
from app.services.checklists import reads as checklist_reads
from app.services.checklists import refresh as checklists
from app.services.checklists import revisions as checklist_revisions
from app.services.checklists.lapses import waiver_lapsed
from app.services.directory.people import get_person
from app.services.directory.projects import get_project

blp = v1_blueprint("checklists", __name__, "Generated checklists and their items")
preview_blp = v1_blueprint(
    "preview", __name__, "A checklist from a project given in the body", write_scope="read"
)


def formats(blueprint: Any, schema: type[Any], *, statuses: tuple[int, ...] = (200,)) -> Any:
    """Document every format a view answers in: JSON (dumped by `schema`) and the text formats
    rendered from the same document, for each of `statuses`; and the 406 for any other."""
    example = CHECKLIST_EXAMPLE if schema is ChecklistOut else None
    content: dict[str, Any] = {
        "application/json": {"schema": schema, **({"example": example} if example else {})}
    }
    for fmt, mimetype in FORMATS.items():
        if fmt != "json":
            text: dict[str, Any] = {"schema": {"type": "string"}}
            if example:
                text["example"] = render(example, fmt)
            content[mimetype] = text
    descriptions = {200: "OK", 201: "Created"}
    doc = {
        "responses": {
            str(status): {"description": descriptions[status], "content": content}
            for status in statuses
        }
    }

    def decorate(view: Any) -> Any:
        view = blueprint.doc(**doc)(view)
        return blueprint.alt_response(406, response="NOT_ACCEPTABLE")(view)

    return decorate


def format_paths(
    blueprint: Any,
    rule: str,
    name: str,
    read: Callable[..., Response],
    *arguments: Callable[[Any], Any],
    method: str = "get",
    summary: str,
    example: dict[str, Any] | None = None,
) -> None:
    """Route `rule.md`, `rule.csv`, `rule.txt` and `rule.html` to `read(*parsed arguments, fmt,
    **path)`, each an operation of its own documenting its one media type, so that a generated
    client reads its answer as text. `arguments` decorate each view as they do the negotiated
    operation's, whose reading `read` is; `example` is the JSON document rendered as the
    example of each."""
    negotiated_as = f"{method.upper()} /v1" + _CONVERTER.sub(r"{\1}", rule)
    for fmt, suffix in SUFFIXES.items():

        def view(self: MethodView, *parsed: Any, _fmt: str = fmt, **path: Any) -> Response:
            return read(*parsed, _fmt, **path)

        view.__doc__ = (
            f"{summary} in {FORMAT_TITLES[fmt]}\n\nThe answer of `{negotiated_as}?format={fmt}`, "
            f"with the same arguments; the suffix fixes the format (`Accept` is disregarded)."
        )
        for decorate in reversed(arguments):
            view = decorate(view)
        view = blueprint.response(200)(blueprint.doc(**_one_format(fmt, example))(view))
        endpoint = f"{name}{fmt.title()}View"
        blueprint.route(f"{rule}.{suffix}", endpoint=endpoint)(
            type(endpoint, (MethodView,), {method: view})
        )


FORMAT_TITLES = {"markdown": "Markdown", "csv": "CSV", "text": "plain text", "html": "HTML"}
# A Flask rule's `<converter:name>`, written `{name}` in the description.
_CONVERTER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def _one_format(fmt: str, example: dict[str, Any] | None) -> dict[str, Any]:
    text: dict[str, Any] = {"schema": {"type": "string"}}
    if example:
        text["example"] = render(example, fmt)
    return {"responses": {"200": {"description": "OK", "content": {FORMATS[fmt]: text}}}}


@cache  # one class per schema, as marshmallow's registry and the spec name it once
def without_format(schema: type[ma.Schema]) -> type[ma.Schema]:
    """`schema` less its `format`, for a format path: its suffix says it."""
    meta = type("Meta", (schema.Meta,), {"exclude": ("format",)})
    return type(f"{schema.__name__}NoFormat", (schema,), {"Meta": meta})


@blp.route("/projects/<string:project_ref>/checklist")
class ChecklistView(MethodView):
    @blp.arguments(ChecklistQuery, location="query")
    @blp.response(200, ChecklistOut)
    @formats(blp, ChecklistOut)
    def get(self, args: dict[str, Any], project_ref: str) -> Response:
        """The project's checklist, filtered by `role`, `status`, `kind`, `phase`, `person_id`;
        Markdown, text and HTML grouped by `group_by`, `compact` for one line an item"""
        return negotiated(lambda fmt: read_checklist(args, fmt, project_ref))

    @blp.arguments(RenderQuery, location="query")
    @blp.response(201, ChecklistOut)
    @blp.alt_response(200, schema=ChecklistOut, description="Regenerated")
    @formats(blp, ChecklistOut, statuses=(200, 201))
    def post(self, args: dict[str, Any], project_ref: str) -> Response:
        """Generate the checklist (201), or regenerate it (200), e.g. after a catalog update"""
        return negotiated(lambda fmt: _generate(args, fmt, project_ref))


def read_checklist(args: dict[str, Any], fmt: str, project_ref: str) -> Response:
    """The project's checklist in `fmt`, filtered and laid out by `args`; a 304 when the
    client holds it."""
    return checklist_answer(current_team_id(), project_ref, args, fmt)


def checklist_answer(team_id: str, project_ref: str, args: dict[str, Any], fmt: str) -> Response:
    """The checklist of team `team_id`'s project `project_ref` in `fmt`, filtered and laid out
    by `args`; a 304 when the client holds it (also what a share link opens)."""
    session = current_session()
    layout = _layout(args)
    filters = {k: v for k, v in args.items() if k not in RENDER_ARGS}
    if "role" in filters:
        check_keys(current_catalog(session), roles={"role": filters["role"]})
    # The short path: the checklist's state in one statement, then a 304 or the rendering
    # cached for that state, with no object loaded.
    header = checklist_reads.checklist_header(session, team_id, project_ref)
    if header is not None:
        key = checklist_reads.cache_key(header.checklist_id, header.state, fmt, filters, layout)
        if (unchanged := not_modified(make_etag(*key))) is not None:
            return unchanged
        if (body := checklist_reads.cached_rendering(key)) is not None:
            return formatted_response(body, fmt, etag=make_etag(*key))
    project, checklist = checklists.get_checklist(session, team_id, project_ref)
    body = checklist_reads.rendered_checklist(session, project, checklist, fmt, filters, layout)
    key = checklist_reads.cache_key(checklist.id, checklist.state, fmt, filters, layout)
    return formatted_response(body, fmt, etag=make_etag(*key))


format_paths(
    blp,
    "/projects/<string:project_ref>/checklist",
    "Checklist",
    read_checklist,
    blp.arguments(without_format(ChecklistQuery), location="query"),
    summary="The project's checklist",
    example=CHECKLIST_EXAMPLE,
)


# --------------------------------------------------------------------------- revisions

REVISIONS_ORDER = (SortKey(ChecklistRevision.revision, descending=True),)


def _revision_entry(revision: ChecklistRevision) -> dict[str, Any]:
    """A revision as its list shows it, with its links in each format (by the project's id,
    which never changes)."""
    base = current_context().settings.public_base_url.rstrip("/")
    url = f"{base}/v1/projects/{revision.project['id']}/checklist/revisions/{revision.revision}"
    return {
        "revision": revision.revision,
        "recorded_at": revision.recorded_at,
        "event_types": revision.event_types,
        "actor": revision.actor,
        "api_key_id": revision.api_key_id,
        "person_id": revision.person_id,
        "release": checklist_revisions.recorded_release(revision.release),
        "catalog_version": revision.catalog_version,
        "summary": revision.summary,
        "links": {"json": url, **{fmt: f"{url}.{suffix}" for fmt, suffix in SUFFIXES.items()}},
    }


@blp.route("/projects/<string:project_ref>/checklist/revisions")
class ChecklistRevisionsView(MethodView):
    @paginated(blp, ChecklistRevisionOut, order=REVISIONS_ORDER, present=_revision_entry)
    def get(self, project_ref: str) -> Any:
        """Every revision of the project's checklist, newest first: when, what made it (the
        types of its events), who, its summary, and links to it in each format"""
        _, checklist = checklists.get_checklist(current_session(), current_team_id(), project_ref)
        return checklist_revisions.revisions_query(current_team_id(), checklist.id)


@blp.route("/projects/<string:project_ref>/checklist/revisions/<int:revision>")
class ChecklistRevisionView(MethodView):
    @blp.arguments(RenderQuery, location="query")
    @blp.response(200, RecordedChecklistOut)
    @formats(blp, RecordedChecklistOut)
    def get(self, args: dict[str, Any], project_ref: str, revision: int) -> Response:
        """The checklist as it stood at one revision (items, statuses, sign-offs, waivers,
        evidence, owners, summary); its ETag changes only when an erasure rewrites it"""
        return negotiated(lambda fmt: read_revision(args, fmt, project_ref, revision))


def read_revision(args: dict[str, Any], fmt: str, project_ref: str, revision: int) -> Response:
    """Revision `revision` of the project's checklist in `fmt`; a 304 when the client holds
    it. A revision changes only when a person it names is erased: its ETag is its checklist,
    number, format and layout, and how many erasures rewrote the checklist's history."""
    session = current_session()
    layout = _layout(args)
    header = checklist_reads.checklist_header(session, current_team_id(), project_ref)
    if header is None:
        # The full read says which of the project and its checklist is missing (404).
        checklists.get_checklist(session, current_team_id(), project_ref)
        raise AssertionError("unreachable")  # pragma: no cover
    shown = layout if fmt in LAID_OUT else DEFAULT_LAYOUT
    etag = make_etag(
        "checklist-revision", header.checklist_id, revision, fmt, shown, header.redactions
    )
    if (unchanged := not_modified(etag)) is not None:
        return unchanged
    doc = checklist_revisions.revision_document(
        session, current_team_id(), header.checklist_id, revision
    )
    return formatted_response(render(doc, fmt, layout), fmt, etag=etag)


format_paths(
    blp,
    "/projects/<string:project_ref>/checklist/revisions/<int:revision>",
    "ChecklistRevision",
    read_revision,
    blp.arguments(without_format(RenderQuery), location="query"),
    summary="A revision of the project's checklist",
)


def _generate(args: dict[str, Any], fmt: str, project_ref: str) -> Response:
    session = current_session()
    catalog = current_catalog(session)
    project = get_project(session, current_team_id(), project_ref)
    ctx = current_context()
    checklist, created = checklists.generate(session, ctx, catalog, project)
    body = checklist_reads.rendered_checklist(session, project, checklist, fmt, {}, _layout(args))
    response = formatted_response(body, fmt, status=201 if created else 200)
    response.headers["Location"] = url_for("checklists.ChecklistView", project_ref=project.id)
    return response


@blp.route("/projects/<string:project_ref>/checklist/items/<string:item_ref>")
class ChecklistItemView(MethodView):
    @blp.response(200, ItemOut)
    def get(self, project_ref: str, item_ref: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        """One item, by id or key"""
        _, checklist, item = _item(project_ref, item_ref)
        return _item_out(checklist, item), 200, etag_header(item, *_lapse(item))

    @honours_if_match(blp)
    @blp.arguments(ItemUpdate)
    @blp.response(200, ItemOut)
    def patch(
        self, data: dict[str, Any], project_ref: str, item_ref: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Set an item's status, note, waiver or ticket link (honours If-Match)"""
        project, checklist, item = _item(project_ref, item_ref, lock=True)
        check_if_match(item, *_lapse(item))
        item = checklist_items.update_item(
            current_session(), current_context(), project, checklist, item, data
        )
        return _item_out(checklist, item), 200, etag_header(item)


# Query arguments that shape a rendering rather than select items.
RENDER_ARGS = frozenset({"format", "group_by", "compact"})


def _layout(args: dict[str, Any]) -> Layout:
    group_by = args.get("group_by", DEFAULT_GROUPING)
    # Sections by role follow the catalog's order of roles.
    roles = current_catalog(current_session()).role_keys if group_by == "role" else ()
    return Layout(group_by, bool(args.get("compact", False)), roles)


def _item(
    project_ref: str, item_ref: str, *, lock: bool = False
) -> tuple[Project, Checklist, ChecklistItem]:
    """The project, its checklist and one item; with `lock`, the checklist is locked first, so
    the item is read as committed by the writer before."""
    project, checklist = checklists.get_checklist(
        current_session(), current_team_id(), project_ref, lock=lock
    )
    item = checklist_items.get_item(current_session(), checklist, item_ref)
    return project, checklist, item


def _lapse(item: ChecklistItem) -> tuple[str, ...]:
    """What an item's ETag depends on beyond its version: a lapsed waiver changes how it reads
    (open, the waiver expired) before the lapse is recorded."""
    return ("waiver-lapsed",) if waiver_lapsed(item.status, item.waiver) else ()


def _item_out(checklist: Checklist, item: ChecklistItem) -> dict[str, Any]:
    # The catalog the checklist came from is in memory: no query for the role titles.
    catalog = catalog_for(current_session(), checklist.catalog_version)
    titles = {r.key: r.title for r in catalog.roles}
    return checklist_documents.item_dict(item, checklist_documents.loaded_owners(item), titles)


# The order of a person's items, as their cursors hold it.
# Rows of (Project, Checklist, ChecklistItem): each key says where its value is.
PERSON_ITEMS_ORDER = (
    SortKey(Project.name, value=lambda row: row.Project.name),
    SortKey(Project.id, value=lambda row: row.Project.id),
    SortKey(ChecklistItem.position, value=lambda row: row.ChecklistItem.position),
    SortKey(ChecklistItem.key, value=lambda row: row.ChecklistItem.key),
)


@blp.route("/people/<string:person_id>/checklist-items")
class PersonItemsView(MethodView):
    @paged(blp, PERSON_ITEMS_ORDER, filters=RenderQuery)
    @blp.response(200, PersonItemsOut)
    @formats(blp, PersonItemsOut)
    def get(self, args: dict[str, Any], page: PageRequest, person_id: str) -> Response:
        """What one person owns across the team's projects (obsolete items left out), project
        by project, a page at a time (`limit`, `cursor`: the `Link` header names the next page)"""
        return negotiated(lambda fmt: read_person_items(args, page, fmt, person_id))


def read_person_items(
    args: dict[str, Any], page: PageRequest, fmt: str, person_id: str
) -> Response:
    """A page of what the person owns, in `fmt`."""
    session = current_session()
    person = get_person(session, current_team_id(), person_id)
    team_id = current_team_id()
    rows = page.fetch(checklist_reads.person_items_query(team_id, person))
    summary = checklist_reads.person_items_summary(session, team_id, person)
    doc = checklist_documents.person_document(
        current_catalog(session), person, rows, summary, page.next_cursor
    )
    body = checklist_documents.render_person_document(doc, fmt, _layout(args))
    return formatted_response(body, fmt)


format_paths(
    blp,
    "/people/<string:person_id>/checklist-items",
    "PersonItems",
    read_person_items,
    paged(blp, PERSON_ITEMS_ORDER, filters=without_format(RenderQuery)),
    summary="What one person owns",
)


@preview_blp.route("/checklists/preview")
class PreviewView(MethodView):
    @preview_blp.arguments(PreviewRequest)
    @preview_blp.arguments(RenderQuery, location="query")
    @preview_blp.response(200, ChecklistOut)
    @formats(preview_blp, ChecklistOut)
    def post(self, data: dict[str, Any], args: dict[str, Any]) -> Response:
        """A checklist for a project and its `assignments` (the staffing PUT's shape and
        rules) given in the body; nothing is stored"""
        return negotiated(lambda fmt: read_preview(data, args, fmt))


def read_preview(data: dict[str, Any], args: dict[str, Any], fmt: str) -> Response:
    """The checklist of the project and staffing in `data`, in `fmt`."""
    doc = preview.preview_document(
        current_session(),
        current_team_id(),
        current_catalog(current_session()),
        data,
        current_context().settings,
    )
    return formatted_response(
        render(checklist_documents.dump_checklist(doc), fmt, _layout(args)), fmt
    )


format_paths(
    preview_blp,
    "/checklists/preview",
    "Preview",
    read_preview,
    preview_blp.arguments(PreviewRequest),
    preview_blp.arguments(without_format(RenderQuery), location="query"),
    method="post",
    summary="A checklist previewed",
    example=CHECKLIST_EXAMPLE,
)
