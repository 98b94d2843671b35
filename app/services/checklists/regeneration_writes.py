"""Writing what a regeneration changed, for all its checklists at once: one statement per kind
of change (new items, changed ones, moved ones, owners, the checklists), and an event each."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import CursorResult, bindparam, delete, insert, inspect, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.models import Checklist, ChecklistItem
from app.models.base import utcnow
from app.models.checklist import STATE_COLUMNS
from app.services.catalog.model import Catalog
from app.services.checklists.documents import checklist_links, project_header
from app.services.checklists.regeneration_diff import (
    ITEMS,
    OWNERS,
    RegenerationDiff,
    StoredItem,
    Target,
    stored_item,
)
from app.services.checklists.revisions import next_revision
from app.services.checklists.summary import summary_of
from app.services.checklists.waivers import next_waiver_expiry
from app.services.context import Context
from app.services.events import record_event
from app.services.shares import ticket_share_urls

CHECKLISTS = Checklist.__table__


def carry_state(session: Session, diffs: Sequence[RegenerationDiff]) -> None:
    """Hand each replaced item's state over to its new item (one query for all of them)."""
    wanted = {old for diff in diffs for old in diff.carry.values()}
    if not wanted:
        return
    rows = session.execute(
        select(ITEMS.c.id, *(ITEMS.c[c] for c in STATE_COLUMNS)).where(ITEMS.c.id.in_(wanted))
    )
    state = {row.id: {c: row._mapping[c] for c in STATE_COLUMNS} for row in rows}
    for diff in diffs:
        for row in diff.new_rows:
            old = diff.carry.get(row["id"])
            if old is not None:
                row.update(state[old])


def write_items(session: Session, diffs: Sequence[RegenerationDiff]) -> None:
    """Every checklist's changes at once: one INSERT of the new items, one UPDATE (executemany)
    of the changed ones, one of the moved ones, and the owners as one DELETE and one INSERT."""
    new_rows = [row for diff in diffs for row in diff.new_rows]
    if new_rows:
        session.execute(insert(ITEMS), new_rows)
    updated = [item for diff in diffs for item in diff.updated]
    if updated:
        now = utcnow()
        # The version guards the item as an ORM write would: a stale one is refused.
        result = session.execute(
            update_rows(ITEMS)
            .where(ITEMS.c.id == bindparam("item_id"), ITEMS.c.version == bindparam("seen"))
            .values(version=ITEMS.c.version + 1),
            [
                {
                    "item_id": item.id,
                    "seen": item.version,
                    **(item.values or {}),
                    "status": item.status,
                    "status_before_obsolete": item.status_before_obsolete,
                    "updated_at": now,
                }
                for item in updated
            ],
        )
        assert isinstance(result, CursorResult)  # an UPDATE's result, which counts its rows
        if result.rowcount != len(updated):
            raise StaleDataError("A checklist item changed while its checklist was regenerated.")
    moved = [(item_id, pos) for diff in diffs for item_id, pos in diff.moved.items()]
    if moved:
        # Moving an item is not a change of the item (no new version).
        session.execute(
            update_rows(ITEMS)
            .where(ITEMS.c.id == bindparam("item_id"))
            .values(position=bindparam("new_position")),
            [{"item_id": item_id, "new_position": pos} for item_id, pos in moved],
        )
    replaced = [item_id for diff in diffs for item_id in diff.replaced]
    if replaced:
        session.execute(delete(OWNERS).where(OWNERS.c.item_id.in_(replaced)))
    owner_rows = [
        {"item_id": item_id, "person_id": person_id, "position": position}
        for diff in diffs
        for item_id, person_ids in diff.owners.items()
        for position, person_id in enumerate(person_ids)
    ]
    if owner_rows:
        session.execute(insert(OWNERS), owner_rows)


def write_checklists(
    session: Session,
    ctx: Context,
    catalog: Catalog,
    written: Sequence[tuple[Target, RegenerationDiff, dict[str, StoredItem]]],
) -> None:
    """The regenerated checklists' state, catalog version and next waiver expiry (one UPDATE
    for all), their loaded items forgotten, and a `checklist.generated` event each (the new
    revision is recorded at the commit, `checklists.revisions`)."""
    if not written:
        return
    now = utcnow()
    rows = []
    # Each checklist's items as they now stand, the new ones (and a waiver they carry) included.
    every = [
        [*items.values(), *(stored_item(r, None) for r in diff.new_rows)]
        for _, diff, items in written
    ]
    for (target, _, _), items in zip(written, every, strict=True):
        checklist = target.checklist
        rows.append(
            {
                "checklist_id": checklist.id,
                "catalog_version": catalog.version,
                "generated_at": now,
                "next_waiver_expiry": next_waiver_expiry(items),
                "updated_at": now,
            }
        )
    # `state` goes up in SQL, as `Checklist.mark_changed` does.
    session.execute(
        update_rows(CHECKLISTS)
        .where(CHECKLISTS.c.id == bindparam("checklist_id"))
        .values(state=CHECKLISTS.c.state + 1),
        rows,
    )
    ids = {target.checklist.id for target, _, _ in written}
    for obj in list(session.identity_map.values()):
        # Items loaded earlier in the transaction no longer hold what is stored.
        if isinstance(obj, ChecklistItem) and obj.checklist_id in ids:
            session.expire(obj)
    base_url = ctx.settings.public_base_url
    share_urls = ticket_share_urls(session, base_url, [t.project.id for t, _, _ in written])
    for (target, diff, _), items, row in zip(written, every, rows, strict=True):
        checklist, project = target.checklist, target.project
        state = None if "state" in inspect(checklist).unloaded else checklist.state
        for name in ("catalog_version", "generated_at", "next_waiver_expiry"):
            set_committed_value(checklist, name, row[name])
        # The revision the commit records (`checklists.revisions`), shown by the answer and
        # the event.
        set_committed_value(checklist, "revision", next_revision(session, checklist))
        set_committed_value(checklist, "updated_at", now)
        if state is None:
            session.expire(checklist, ["state"])
        else:
            # Read under the checklist's lock: nobody else moved it meanwhile.
            set_committed_value(checklist, "state", state + 1)
        record_event(
            session,
            ctx,
            project.team_id,
            "checklist.generated",
            {
                "project": project_header(project, catalog),
                "checklist": {
                    "id": checklist.id,
                    "revision": checklist.revision,
                    "catalog_version": catalog.version,
                },
                "summary": summary_of(Counter((i.status, i.kind) for i in items)),
                "diff": diff.as_payload(),
                "links": checklist_links(base_url, project, share_urls.get(project.id)),
            },
            project_id=project.id,
        )
