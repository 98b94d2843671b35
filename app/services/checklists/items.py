"""Working a checklist's items: status (with an independent sign-off where required), note,
waiver (under the waiver policy of the item's priority), ticket link and evidence, each change
an event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Checklist, ChecklistItem, Project
from app.models.base import utcnow
from app.services.checklists.documents import loaded_owners
from app.services.checklists.item_events import ItemEvents
from app.services.checklists.lapses import today
from app.services.checklists.rules import ItemRules, as_far_as_a_system_may
from app.services.checklists.signers import named_signer
from app.services.checklists.waivers import expire_due_waivers, next_waiver_expiry
from app.services.context import Context
from app.vocabulary import ItemStatus


def get_item(session: Session, checklist: Checklist, id_or_key: str) -> ChecklistItem:
    """One item of the checklist, by id or key, with its owners; 404 when there is none."""
    column = ChecklistItem.id if id_or_key.startswith("itm_") else ChecklistItem.key
    item = session.scalar(
        select(ChecklistItem)
        .where(ChecklistItem.checklist_id == checklist.id, column == id_or_key)
        .options(selectinload(ChecklistItem.owners))
    )
    if item is None:
        raise NotFound(f"No item '{id_or_key}' in this checklist.")
    return item


MAX_EVIDENCE = 50


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
    """Apply a PATCH: status (with `signed_off_by` where a sign-off is required), note, waiver,
    ticket, evidence; each change is an event. The caller holds the checklist's lock
    (`get_checklist(..., lock=True)`): the next waiver expiry it stores is computed from every
    waived item as committed. A change a ticketing system sent names it (`source`) and says
    why (`reason`) in its events; such a system cannot sign off, approve or give evidence, so
    an item it would close or waive that needs them is held `in_progress` instead, and the
    reason says what it still needs (`checklists.rules`). Waivers of the checklist that have
    lapsed are recorded first, as any write to it does."""
    expire_due_waivers(session, ctx, [checklist])
    if item.status == ItemStatus.OBSOLETE and (
        "status" in data or data.get("waiver") or "signed_off_by" in data
    ):
        raise Conflict(
            "This item no longer applies to the project (obsolete); only its note, ticket and "
            "evidence can change."
        )
    rules = ItemRules(session, checklist, project, item)
    status = data.get("status", item.status)
    waiver = item.waiver
    if "waiver" in data:
        waiver = _waiver_value(data["waiver"], by_system=source is not None)
        if waiver is not None and status != ItemStatus.WAIVED and "status" in data:
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
            elif item.status == ItemStatus.WAIVED:
                status = "open"
    if (
        source is None
        and status == ItemStatus.WAIVED
        and (item.status != ItemStatus.WAIVED or "waiver" in data)
    ):
        # Some items are never waived (the waiver policy's `never_waived`): named as a rule.
        rules.check_waivable("waiver" if "waiver" in data else "status")
    if status == ItemStatus.WAIVED and not waiver:
        raise ValidationFailed(
            "Waiving an item needs a reason.",
            errors={"waiver.reason": ["Required when the status is waived."]},
        )
    evidence = _evidence_value(item.evidence or [], data.get("evidence"))
    signed_off_by = item.signed_off_by if status == ItemStatus.DONE else None
    if "signed_off_by" in data:
        if status != ItemStatus.DONE:
            raise ValidationFailed(
                "A sign-off goes with the status done.",
                errors={"signed_off_by": ["Given with a status other than done."]},
            )
        signed_off_by = named_signer(ctx, "signed_off_by", data["signed_off_by"])
    elif status == ItemStatus.DONE and item.status != ItemStatus.DONE and item.signoff_required:
        # Left out: the person the caller is signs (nobody, for a team key).
        signed_off_by = ctx.person_id
    if source is not None:
        status, waiver, reason = as_far_as_a_system_may(
            rules, item, status, waiver, evidence, signed_off_by, reason
        )
        if status != ItemStatus.DONE:
            signed_off_by = None  # held: a sign-off goes with done only
    if status != ItemStatus.WAIVED:
        waiver = None
    elif waiver is not None and waiver != item.waiver:
        if source is None:
            named_signer(ctx, "waiver.approved_by", waiver["approved_by"])
        waiver = rules.approve_waiver(waiver, ctx, by_system=source is not None)
    if status == ItemStatus.DONE:
        # Checked as the item becomes done; evidence also when a done item's evidence changes.
        newly = item.status != ItemStatus.DONE
        rules.check_done(
            signed_off_by, evidence, signoff=newly, evidence=newly or "evidence" in data
        )
        if signed_off_by is not None and signed_off_by != item.signed_off_by:
            rules.check_independent("signed_off_by", signed_off_by, "sign it off")
    before = {name: getattr(item, name) for name in _STATE}
    values: dict[str, Any] = {
        "status": status,
        "waiver": waiver,
        "evidence": evidence,
        "signed_off_by": signed_off_by,
    }
    for name in ("note", "ticket"):
        if name in data:
            values[name] = data[name]
    changed = {f: v for f, v in values.items() if getattr(item, f) != v}
    if not changed:
        return item
    for name, value in changed.items():
        setattr(item, name, value)
    if "signed_off_by" in changed:
        item.signed_off_at = utcnow() if signed_off_by is not None else None
        item.signed_off_with = ctx.signed_with if signed_off_by is not None else None
        # The signer's name shows with the item (and in the events below).
        session.expire(item, ["signer"])
    # Written before the events are made: they carry the item's version (and time) after it.
    session.flush()
    # The item's snapshot is built once; each event shows its own fields before and after.
    events = ItemEvents(session, ctx, project, checklist)
    snapshot = events.snapshot(item, loaded_owners(item))

    def record(type_: str, focus: str) -> None:
        events.record(item, type_, snapshot, before, _FOCUS[focus], reason=reason, source=source)

    if "status" in changed:
        record("checklist.item.status_changed", "status")
    if "ticket" in changed:
        record("checklist.item.ticket_linked", "ticket")
    others = changed.keys() - {"status", "ticket"}
    if "status" in changed:
        # A sign-off given or lifted with the status is told by the status event.
        others -= {"signed_off_by"}
    if others:
        record("checklist.item.updated", "note")
    if "waiver" in changed or "status" in changed:
        checklist.next_waiver_expiry = next_waiver_expiry(
            [item, *_other_waived(session, checklist, item)]
        )
    checklist.mark_changed()
    session.flush()
    return item


# The fields of an item's state that events show before and after.
_STATE = ("status", "waiver", "note", "ticket", "evidence", "signed_off_by")


def _waiver_value(waiver: Mapping[str, Any] | None, *, by_system: bool) -> dict[str, Any] | None:
    """The waiver as stored: its reason, approver (a person id), expiry and the residual risk
    it accepts; a ticketing system's waiver names who asked for it (`requested_by`), not an
    approver. The waiver policy of the item's priority is checked with the approver
    (`ItemRules.approve_waiver`)."""
    if waiver is None:
        return None
    expires = waiver.get("expires_on")
    if expires is not None and expires < today():
        raise ValidationFailed(
            "A waiver cannot expire in the past.",
            errors={"waiver.expires_on": ["Must be today or later."]},
        )
    approved_by = waiver.get("approved_by")
    return {
        "reason": waiver["reason"],
        "approved_by": None if by_system else approved_by,
        "approver_name": None,
        "requested_by": approved_by if by_system else None,
        "expires_on": expires.isoformat() if expires else None,
        "residual_risk": None if by_system else waiver.get("residual_risk"),
    }


def _evidence_value(
    current: list[dict[str, Any]], change: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The evidence after a PATCH's `{add, remove}`: removed URLs go, added links come last
    (an added URL already there keeps its place and takes the new title)."""
    if not change:
        return list(current)
    removed = set(change.get("remove") or ())
    links = {link["url"]: dict(link) for link in current if link["url"] not in removed}
    for link in change.get("add") or ():
        links[link["url"]] = {"title": link["title"], "url": link["url"]}
    if len(links) > MAX_EVIDENCE:
        raise ValidationFailed(
            f"An item holds at most {MAX_EVIDENCE} evidence links.",
            errors={"evidence.add": [f"At most {MAX_EVIDENCE} links in all."]},
        )
    return list(links.values())


def _other_waived(
    session: Session, checklist: Checklist, item: ChecklistItem
) -> list[ChecklistItem]:
    return list(
        session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.checklist_id == checklist.id,
                ChecklistItem.status == ItemStatus.WAIVED,
                ChecklistItem.id != item.id,
            )
        )
    )


# What `before` and `after` show of each kind of item event.
_FOCUS = {
    "status": ("status", "waiver", "signed_off_by"),
    "ticket": ("ticket",),
    "note": ("note", "waiver", "evidence", "signed_off_by"),
}
