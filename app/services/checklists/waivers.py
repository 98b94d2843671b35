"""Recording lapsed waivers: an item waived until a date is turned back to `open`, with its
event, by the next write to its checklist or by the delivery worker's sweep (reads only show
the lapse, `app.services.checklists.lapses`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from itertools import groupby
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Checklist, ChecklistItem, Project
from app.services.checklists.documents import load_owners
from app.services.checklists.item_events import ItemEvents
from app.services.checklists.lapses import today, waiver_lapsed
from app.services.context import SYSTEM, Context
from app.services.locks import lock_checklists
from app.vocabulary import ItemStatus


class Waivable(Protocol):
    """An item as far as its waiver goes: a model, or a stored item regeneration reads."""

    @property
    def status(self) -> str: ...
    @property
    def waiver(self) -> Mapping[str, Any] | None: ...


def next_waiver_expiry(items: Iterable[Waivable]) -> date | None:
    dates = [
        date.fromisoformat(item.waiver["expires_on"])
        for item in items
        if item.status == ItemStatus.WAIVED and item.waiver and item.waiver.get("expires_on")
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
        if item.waiver is not None and waiver_lapsed(item.status, item.waiver):
            expired.append((item, item.waiver))
            item.status = ItemStatus.OPEN
            item.waiver = None
    if expired:
        # Written before the events are made: they carry each item's version after it.
        session.flush()
        project = session.get_one(Project, checklist.project_id)
        events = ItemEvents(session, ctx, project, checklist)
        for item, waiver in expired:
            events.record(
                item,
                "checklist.item.status_changed",
                events.snapshot(item, owners.get(item.id, [])),
                {"status": "waived", "waiver": waiver, "signed_off_by": None},
                ("status", "waiver", "signed_off_by"),
                reason=f"waiver expired on {waiver['expires_on']}",
                actor=SYSTEM,
            )
    checklist.next_waiver_expiry = next_waiver_expiry(items)
    checklist.mark_changed()


def expire_due_waivers(session: Session, ctx: Context, checklists: Iterable[Checklist]) -> None:
    """Turn the lapsed waivers of these checklists back to `open`, with their events, under
    the checklists' locks: what a write to a checklist does first."""
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
                    ChecklistItem.status == ItemStatus.WAIVED,
                )
                # Read again whole: an item the caller holds keeps its owners loaded.
                .options(selectinload(ChecklistItem.owners))
                .execution_options(populate_existing=True)
            )
        )
        expire_waivers(session, ctx, checklist, items, load_owners(session, checklist))


def record_lapsed_waivers(session: Session, ctx: Context, *, limit: int = 100) -> int:
    """Record the lapses of up to `limit` checklists whose waivers are due, across teams (the
    worker's sweep, in its own transaction); how many checklists it found due. Each team's
    checklists are locked in the one order every writer takes."""
    due = session.execute(
        select(Checklist.team_id, Checklist.project_id)
        .where(Checklist.next_waiver_expiry < today())
        .order_by(Checklist.team_id, Checklist.project_id)
        .limit(limit)
    ).all()
    for team_id, rows in groupby(due, key=lambda row: row.team_id):
        locked = lock_checklists(session, team_id, [row.project_id for row in rows])
        expire_due_waivers(session, ctx, [checklist for _, checklist in locked])
    return len(due)
