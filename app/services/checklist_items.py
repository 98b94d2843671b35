"""Working a checklist's items: status, note, waiver and ticket link, each change an event."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Checklist, ChecklistItem, Project
from app.services.catalog import catalog_for
from app.services.checklist_documents import item_event_data, item_snapshot, loaded_owners
from app.services.context import Context
from app.services.events import record_event
from app.services.waivers import expire_due_waivers, next_waiver_expiry, today


def get_item(session: Session, ctx: Context, checklist: Checklist, id_or_key: str) -> ChecklistItem:
    expire_due_waivers(session, ctx, [checklist])
    column = ChecklistItem.id if id_or_key.startswith("itm_") else ChecklistItem.key
    item = session.scalar(
        select(ChecklistItem)
        .where(ChecklistItem.checklist_id == checklist.id, column == id_or_key)
        .options(selectinload(ChecklistItem.owners))
    )
    if item is None:
        raise NotFound(f"No item '{id_or_key}' in this checklist.")
    return item


def update_item(
    session: Session,
    ctx: Context,
    project: Project,
    checklist: Checklist,
    item: ChecklistItem,
    data: Mapping[str, Any],
    *,
    source: str | None = None,
    reason: str | None = None,
) -> ChecklistItem:
    """Apply a PATCH: status, note, waiver, ticket; each change is an event. The caller holds
    the checklist's lock (`get_checklist(..., lock=True)`): the next waiver expiry it stores is
    computed from every waived item as committed. A change a ticketing system sent names it
    (`source`) and says why (`reason`) in its events."""
    if item.status == "obsolete" and ("status" in data or data.get("waiver")):
        raise Conflict(
            "This item no longer applies to the project (obsolete); only its note and ticket "
            "can change."
        )
    status = data.get("status", item.status)
    waiver = item.waiver
    if "waiver" in data:
        waiver = _waiver_value(data["waiver"])
        if waiver is not None and status != "waived" and "status" in data:
            raise ValidationFailed(
                f"A waiver waives the item: it cannot go with the status '{status}'.",
                errors={
                    "waiver": ["Given with a status other than waived."],
                    "status": ["Must be waived (or left out) when a waiver is given."],
                },
            )
        if "status" not in data:
            # A waiver given waives the item; `"waiver": null` lifts it, reopening the item.
            if waiver is not None:
                status = "waived"
            elif item.status == "waived":
                status = "open"
    if status == "waived" and not waiver:
        raise ValidationFailed(
            "Waiving an item needs a reason.",
            errors={"waiver.reason": ["Required when the status is waived."]},
        )
    if status != "waived":
        waiver = None
    before = {
        "status": item.status,
        "waiver": item.waiver,
        "note": item.note,
        "ticket": item.ticket,
    }
    values = {"status": status, "waiver": waiver}
    for name in ("note", "ticket"):
        if name in data:
            values[name] = data[name]
    changed = {f: v for f, v in values.items() if getattr(item, f) != v}
    if not changed:
        return item
    for name, value in changed.items():
        setattr(item, name, value)
    data_of = _event_data(session, ctx, project, checklist, item, before, source, reason)
    if "status" in changed:
        _item_event(session, ctx, item, "checklist.item.status_changed", data_of("status"))
    if "ticket" in changed:
        _item_event(session, ctx, item, "checklist.item.ticket_linked", data_of("ticket"))
    if changed.keys() - {"status", "ticket"}:
        _item_event(session, ctx, item, "checklist.item.updated", data_of("note"))
    if "waiver" in changed or "status" in changed:
        checklist.next_waiver_expiry = next_waiver_expiry(
            [item, *_other_waived(session, checklist, item)]
        )
    checklist.mark_changed()
    session.flush()
    return item


def _waiver_value(waiver: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if waiver is None:
        return None
    expires = waiver.get("expires_on")
    if expires is not None and expires < today():
        raise ValidationFailed(
            "A waiver cannot expire in the past.",
            errors={"waiver.expires_on": ["Must be today or later."]},
        )
    return {
        "reason": waiver["reason"],
        "approved_by": waiver.get("approved_by"),
        "expires_on": expires.isoformat() if expires else None,
    }


def _other_waived(
    session: Session, checklist: Checklist, item: ChecklistItem
) -> list[ChecklistItem]:
    return list(
        session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.checklist_id == checklist.id,
                ChecklistItem.status == "waived",
                ChecklistItem.id != item.id,
            )
        )
    )


# What `before` and `after` show of each kind of item event.
_FOCUS = {"status": ("status", "waiver"), "ticket": ("ticket",), "note": ("note", "waiver")}


def _event_data(
    session: Session,
    ctx: Context,
    project: Project,
    checklist: Checklist,
    item: ChecklistItem,
    before: Mapping[str, Any],
    source: str | None,
    reason: str | None,
) -> Callable[[str], dict[str, Any]]:
    """The item's snapshot is built once (role titles from the checklist's catalog, which is
    in memory); each event shows its own fields before and after."""
    catalog = catalog_for(session, checklist.catalog_version)
    titles = {r.key: r.title for r in catalog.roles}
    snapshot = item_snapshot(
        item,
        loaded_owners(item),
        project,
        role_titles=titles,
        base_url=ctx.settings.public_base_url,
    )

    def data_of(focus: str) -> dict[str, Any]:
        fields = _FOCUS[focus]
        return item_event_data(
            project,
            catalog,
            snapshot,
            before={f: before[f] for f in fields},
            after={f: snapshot[f] for f in fields},
            reason=reason,
            source=source,
        )

    return data_of


def _item_event(
    session: Session, ctx: Context, item: ChecklistItem, type_: str, data: dict[str, Any]
) -> None:
    record_event(session, ctx, item.team_id, type_, data, project_id=item.project_id)
