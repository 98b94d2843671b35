"""Reading stored checklists: items and owners in a constant number of queries, rendered once
per state and served from memory until something changes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from app.metrics import RENDERS
from app.models import Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.render import DEFAULT_LAYOUT, LAID_OUT, Layout, render
from app.services.catalog.store import catalog_for
from app.services.checklists.documents import checklist_document, filtered, load_owners
from app.services.checklists.generator import summary_of
from app.services.checklists.lapses import today, waiver_lapsed
from app.services.driver_reads import DriverReads
from app.services.lru import LRUCache
from app.vocabulary import ItemStatus

# The item columns a rendering needs, and the signer's name: read as plain rows (no ORM
# objects, no identity map), in generated order.
_ITEM_ROWS = (
    select(
        *(
            column
            for column in ChecklistItem.__table__.c
            if column.key not in ("team_id", "checklist_id", "project_id")
        ),
        Person.name.label("signed_off_by_name"),
    )
    .outerjoin(Person, Person.id == ChecklistItem.signed_off_by)
    .where(ChecklistItem.checklist_id == bindparam("checklist_id"))
    .order_by(ChecklistItem.position, ChecklistItem.key)
)


def load_items(
    session: Session, checklist: Checklist
) -> tuple[list[Row[*tuple[Any, ...]]], dict[str, list[dict[str, Any]]]]:
    """The checklist's items in generated order, as rows, and each item's owners (2 queries)."""
    items = list(session.execute(_ITEM_ROWS, {"checklist_id": checklist.id}))
    return items, load_owners(session, checklist)


# Rendered checklists by `cache_key`: reading an unchanged checklist again costs no rendering.
render_cache: LRUCache[tuple[Any, ...], bytes] = LRUCache(256)


def cache_key(
    checklist_id: str,
    state: int,
    fmt: str,
    filters: Mapping[str, Any],
    layout: Layout = DEFAULT_LAYOUT,
) -> tuple[Any, ...]:
    """What a rendering depends on: the checklist's state, the format, the filters, the layout
    (Markdown, text and HTML only) and the day (a waiver lapses by the day, and reads show it)."""
    shown = layout if fmt in LAID_OUT else DEFAULT_LAYOUT
    return ("checklist", checklist_id, state, fmt, tuple(sorted(filters.items())), shown, today())


class ChecklistHeader(NamedTuple):
    """What a conditional read needs to know of a checklist, before anything is loaded."""

    checklist_id: str
    state: int
    # How many erasures rewrote its kept revisions: part of a revision's ETag.
    redactions: int


def _header_by(column: Any) -> Any:
    """The checklist's id, state and redactions by its project's `column` (a team's)."""
    return (
        select(Checklist.id, Checklist.state, Checklist.redactions)
        .join(Project, Project.id == Checklist.project_id)
        .where(Project.team_id == bindparam("team_id"), column == bindparam("ref"))
    )


# Built once: by the project's id (`prj_…`) or by its slug, as `Project.is_ref` tells them apart.
_HEADER_BY_ID = _header_by(Project.id)
_HEADER_BY_SLUG = _header_by(Project.slug)


def checklist_header(session: Session, team_id: str, project_ref: str) -> ChecklistHeader | None:
    """The checklist's id and state by its project's id or slug, in one statement built once;
    None when the project or its checklist is missing (the full read says which)."""
    stmt = _HEADER_BY_ID if _is_id(project_ref) else _HEADER_BY_SLUG
    # On the connection: a Core statement needs none of the ORM session's execution machinery.
    row = session.connection().execute(stmt, {"team_id": team_id, "ref": project_ref}).first()
    if row is None:
        return None
    return ChecklistHeader(row.id, row.state, row.redactions)


def checklist_header_read(reads: DriverReads) -> Callable[[str, str], ChecklistHeader | None]:
    """`checklist_header` on the driver (the fast path's, `app.api.fast_reads`): the same
    statements, compiled once for `reads`' engine; called with the team's id and the ref."""
    by_id, by_slug = reads.compiled(_HEADER_BY_ID), reads.compiled(_HEADER_BY_SLUG)

    def header(team_id: str, project_ref: str) -> ChecklistHeader | None:
        stmt = by_id if _is_id(project_ref) else by_slug
        row = reads.first(stmt, {"team_id": team_id, "ref": project_ref})
        return None if row is None else ChecklistHeader(*row)

    return header


def _is_id(project_ref: str) -> bool:
    """A project's id (`prj_…`), as `Project.is_ref` tells it from a slug."""
    return project_ref.startswith(f"{Project.id_prefix}_")


# Checklist documents (the dumped JSON form of every item) by checklist, state and day: every
# format and filter of an unchanged checklist is made from one dump. Never mutated once cached.
document_cache: LRUCache[tuple[Any, ...], dict[str, Any]] = LRUCache(64)


def cached_rendering(key: tuple[Any, ...]) -> bytes | None:
    """The rendering cached under `key` (a `cache_key`), counted as a hit; None when there is
    none (`rendered_checklist` then renders, and counts the miss)."""
    body = render_cache.get(key)
    if body is not None:
        RENDERS.labels("hit").inc()
    return body


def rendered_checklist(
    session: Session,
    project: Project,
    checklist: Checklist,
    fmt: str,
    filters: Mapping[str, Any],
    layout: Layout = DEFAULT_LAYOUT,
) -> bytes:
    """The checklist rendered as `fmt` and encoded (UTF-8), from the cache while its state
    holds: a hit is answered with the very bytes, not encoded again (170 KB of JSON)."""
    key = cache_key(checklist.id, checklist.state, fmt, filters, layout)
    cached = render_cache.get(key)
    RENDERS.labels("hit" if cached is not None else "miss").inc()
    if cached is not None:
        return cached
    doc = checklist_document_of(session, project, checklist)
    body = render(filtered(doc, filters), fmt, layout).encode()
    render_cache.put(cache_key(checklist.id, checklist.state, fmt, filters, layout), body)
    return body


def checklist_document_of(
    session: Session, project: Project, checklist: Checklist
) -> dict[str, Any]:
    """The checklist's whole JSON document, dumped once per state and day."""
    key = ("document", checklist.id, checklist.state, today())
    doc = document_cache.get(key)
    if doc is None:
        items, owners = load_items(session, checklist)
        catalog = catalog_for(session, checklist.catalog_version)
        doc = checklist_document(catalog, project, checklist, items, owners)
        document_cache.put(("document", checklist.id, checklist.state, today()), doc)
    return doc


def _owned(team_id: str, person: Person) -> Select[str]:
    """The ids of the items `person` owns in the team (obsolete ones left out)."""
    return (
        select(ChecklistItem.id)
        .join(ChecklistItemOwner, ChecklistItemOwner.item_id == ChecklistItem.id)
        .where(
            ChecklistItem.team_id == team_id,
            ChecklistItemOwner.person_id == person.id,
            ChecklistItem.status != ItemStatus.OBSOLETE,
        )
    )


def person_items_query(team_id: str, person: Person) -> Select[Project, Checklist, ChecklistItem]:
    """What a person owns across the team's projects (obsolete items left out), each item
    with its project and checklist; the list mechanism pages it, project by project (by name)
    in generated order."""
    return (
        select(Project, Checklist, ChecklistItem)
        .join(Checklist, Checklist.project_id == Project.id)
        .join(ChecklistItem, ChecklistItem.checklist_id == Checklist.id)
        .where(Project.team_id == team_id, ChecklistItem.id.in_(_owned(team_id, person)))
        .options(selectinload(ChecklistItem.owners))
    )


def person_items_summary(session: Session, team_id: str, person: Person) -> dict[str, Any]:
    """The summary of everything a person owns, as reads show it (a lapsed waiver's item
    counts as open)."""
    owned = _owned(team_id, person)
    counts = session.execute(
        select(ChecklistItem.status, ChecklistItem.kind, func.count())
        .where(ChecklistItem.id.in_(owned))
        .group_by(ChecklistItem.status, ChecklistItem.kind)
    )
    tally: dict[tuple[str, str | None], int] = {(status, kind): n for status, kind, n in counts}
    if any(status == ItemStatus.WAIVED for status, _ in tally):
        lapsed = session.execute(
            select(ChecklistItem.kind, ChecklistItem.waiver).where(
                ChecklistItem.id.in_(owned), ChecklistItem.status == ItemStatus.WAIVED
            )
        )
        for kind, waiver in lapsed:
            if waiver_lapsed(ItemStatus.WAIVED, waiver):
                tally[(ItemStatus.WAIVED, kind)] -= 1
                tally[(ItemStatus.OPEN, kind)] = tally.get((ItemStatus.OPEN, kind), 0) + 1
    return summary_of(tally)
