"""Reading stored checklists: items and owners in a constant number of queries, rendered once
per state and served from memory until something changes."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.metrics import RENDERS
from app.models import Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.render import DEFAULT_LAYOUT, Layout, render
from app.services.catalog import catalog_for
from app.services.checklist_documents import checklist_document, load_owners
from app.services.context import Context
from app.services.waivers import expire_due_waivers, today


def load_items(
    session: Session, ctx: Context, checklist: Checklist
) -> tuple[list[ChecklistItem], dict[str, list[dict[str, Any]]]]:
    """The checklist's items in generated order and each item's owners (2 queries); waivers
    that have expired are turned back to `open` first."""
    expire_due_waivers(session, ctx, [checklist])
    items = list(
        session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.checklist_id == checklist.id)
            .order_by(ChecklistItem.position, ChecklistItem.key)
        )
    )
    return items, load_owners(session, checklist)


class RenderCache:
    """Rendered checklists by (checklist, state, format, filters, layout, day): reading an
    unchanged checklist again costs no rendering."""

    def __init__(self, size: int = 256) -> None:
        self._entries: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: str) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


render_cache = RenderCache()


def cache_key(
    checklist: Checklist, fmt: str, filters: Mapping[str, Any], layout: Layout = DEFAULT_LAYOUT
) -> tuple[Any, ...]:
    # JSON and CSV do not depend on the layout: one cache entry whatever the layout asked.
    shown = layout if fmt in ("markdown", "text") else DEFAULT_LAYOUT
    return (checklist.id, checklist.state, fmt, tuple(sorted(filters.items())), shown, today())


def checklist_etag(
    checklist: Checklist, fmt: str, filters: Mapping[str, Any], layout: Layout = DEFAULT_LAYOUT
) -> str:
    """The ETag of one rendering: it changes whenever the cache key does."""
    key = cache_key(checklist, fmt, filters, layout)
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


def rendered_checklist(
    session: Session,
    ctx: Context,
    project: Project,
    checklist: Checklist,
    fmt: str,
    filters: Mapping[str, Any],
    layout: Layout = DEFAULT_LAYOUT,
) -> str:
    key = cache_key(checklist, fmt, filters, layout)
    cached = render_cache.get(key)
    RENDERS.labels("hit" if cached is not None else "miss").inc()
    if cached is not None:
        return cached
    items, owners = load_items(session, ctx, checklist)
    catalog = catalog_for(session, checklist.catalog_version)
    doc = checklist_document(catalog, project, checklist, items, owners, filters)
    body = render(doc, fmt, layout)
    render_cache.put(cache_key(checklist, fmt, filters, layout), body)
    return body


def items_for_person(
    session: Session,
    ctx: Context,
    team_id: str,
    person: Person,
    *,
    include_obsolete: bool = False,
) -> list[tuple[Project, Checklist, ChecklistItem]]:
    """What one person owns across the team's projects, project by project."""
    expire_due_waivers(
        session,
        ctx,
        session.scalars(
            select(Checklist).where(
                Checklist.team_id == team_id, Checklist.next_waiver_expiry < today()
            )
        ),
    )
    stmt = (
        select(Project, Checklist, ChecklistItem)
        .join(Checklist, Checklist.project_id == Project.id)
        .join(ChecklistItem, ChecklistItem.checklist_id == Checklist.id)
        .join(ChecklistItemOwner, ChecklistItemOwner.item_id == ChecklistItem.id)
        .where(
            Project.team_id == team_id,
            ChecklistItem.team_id == team_id,
            ChecklistItemOwner.person_id == person.id,
        )
        .options(selectinload(ChecklistItem.owners))
        .order_by(Project.name, Project.id, ChecklistItem.position)
    )
    if not include_obsolete:
        stmt = stmt.where(ChecklistItem.status != "obsolete")
    return [(project, checklist, item) for project, checklist, item in session.execute(stmt)]
