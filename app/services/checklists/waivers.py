"""Waivers that expire: an item waived until a date turns back to `open` once it has passed,
at the next read or regeneration that sees it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Checklist, ChecklistItem, Project
from app.services.catalog.store import catalog_for
from app.services.checklists.documents import item_event_data, item_snapshot, load_owners
from app.services.context import SYSTEM, Context
from app.services.events import record_event
from app.services.locks import lock_checklists


def today() -> date:
    return datetime.now(UTC).date()


def next_waiver_expiry(items: Iterable[ChecklistItem]) -> date | None:
    dates = [
        date.fromisoformat(item.waiver["expires_on"])
        for item in items
        if item.status == "waived" and item.waiver and item.waiver.get("expires_on")
    ]
    return min(dates, default=None)


def waivers_due(checklist: Checklist) -> bool:
    return checklist.next_waiver_expiry is not None and checklist.next_waiver_expiry < today()


def expire_waivers(
    session: Session,
    ctx: Context,
    checklist: Checklist,
    items: Sequence[ChecklistItem],
    owners: Mapping[str, list[dict[str, Any]]],
) -> None:
    """Reopen the expired waivers among `items`, which are all the waived items of the
    checklist (or all its items); the caller holds the checklist's lock."""
    expired = []
    for item in items:
        waiver = item.waiver or {}
        expires = waiver.get("expires_on")
        if item.status == "waived" and expires and date.fromisoformat(expires) < today():
            item.status = "open"
            item.waiver = None
            expired.append((item, waiver))
    if expired:
        # Written before the events are made: they carry each item's version after it.
        session.flush()
        project = session.get_one(Project, checklist.project_id)
        catalog = catalog_for(session, checklist.catalog_version)
        titles = {role.key: role.title for role in catalog.roles}
        for item, waiver in expired:
            snapshot = item_snapshot(
                item,
                owners.get(item.id, []),
                project,
                role_titles=titles,
                base_url=ctx.settings.public_base_url,
            )
            record_event(
                session,
                ctx,
                checklist.team_id,
                "checklist.item.status_changed",
                item_event_data(
                    project,
                    catalog,
                    snapshot,
                    before={"status": "waived", "waiver": waiver, "signed_off_by": None},
                    after={"status": "open", "waiver": None, "signed_off_by": None},
                    reason=f"waiver expired on {waiver['expires_on']}",
                ),
                project_id=checklist.project_id,
                actor=SYSTEM,
            )
    checklist.next_waiver_expiry = next_waiver_expiry(items)
    checklist.mark_changed()


def expire_due_waivers(session: Session, ctx: Context, checklists: Iterable[Checklist]) -> None:
    """Turn the expired waivers of these checklists back to `open`, under their locks (a read
    that finds a waiver due writes, like any other change of state)."""
    due = [checklist for checklist in checklists if waivers_due(checklist)]
    if not due:
        return
    for _, checklist in lock_checklists(session, due[0].team_id, [c.project_id for c in due]):
        if not waivers_due(checklist):  # another request expired them meanwhile
            continue
        items = list(
            session.scalars(
                select(ChecklistItem)
                .where(
                    ChecklistItem.checklist_id == checklist.id,
                    ChecklistItem.status == "waived",
                )
                .execution_options(populate_existing=True)
            )
        )
        expire_waivers(session, ctx, checklist, items, load_owners(session, checklist))
