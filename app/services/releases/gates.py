"""A release's gates: the checklist items a release asks again (`repeats`), reopened when it
opens, and the critical ones that hold its go/no-go."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Checklist, ChecklistItem, Project
from app.services.catalog.store import catalog_for
from app.services.checklists.documents import load_owners
from app.services.checklists.item_events import ItemEvents
from app.services.checklists.lapses import today, waiver_lapsed
from app.services.checklists.waiver_policy import (
    WaiverPolicy,
    approver_required,
    policy_errors,
    policy_of,
)
from app.services.checklists.waivers import next_waiver_expiry
from app.services.context import Context
from app.vocabulary import ItemStatus, Priority, Repeats

# What a reopened gate loses, and what the `release.opened` event keeps of it.
REOPENED_FIELDS = (
    "status",
    "waiver",
    "signed_off_by",
    "signed_off_with",
    "signed_off_at",
    "evidence",
)


def waiver_holds(item: ChecklistItem, policy: WaiverPolicy) -> bool:
    """Whether a waived item's waiver still holds for a release: its day has not passed, and
    it keeps the waiver policy of the item's priority as it stands today (an expiry within
    the policy's days, a reason, an approver and a residual risk where the policy asks them).
    A waiver given before the policy, with no expiry, does not carry into a release."""
    waiver = item.waiver
    if item.status != ItemStatus.WAIVED or not waiver or waiver_lapsed(item.status, waiver):
        return False
    rule = policy.rule_for(item.priority)
    if policy_errors(rule, waiver, today()):
        return False
    return not (approver_required(rule, item.signoff_required) and not waiver.get("approved_by"))


def _passes(item: ChecklistItem, policy: WaiverPolicy) -> bool:
    """Whether a gate lets its release ship: done (with the sign-off it needs), or waived by a
    waiver that holds."""
    if item.status == ItemStatus.DONE:
        return not item.signoff_required or item.signed_off_by is not None
    return waiver_holds(item, policy)


def _policy(session: Session, checklist: Checklist) -> WaiverPolicy:
    """The waiver policy waivers are held to: the one of the checklist's catalog."""
    return policy_of(catalog_for(session, checklist.catalog_version))


def _gates(session: Session, checklist: Checklist) -> list[ChecklistItem]:
    """The checklist's release gates that apply (obsolete ones left out), in generated order."""
    return list(
        session.scalars(
            select(ChecklistItem)
            .where(
                ChecklistItem.checklist_id == checklist.id,
                ChecklistItem.repeats.is_not(None),
                ChecklistItem.status != ItemStatus.OBSOLETE,
            )
            .order_by(ChecklistItem.position, ChecklistItem.key)
        )
    )


def blocking_gates(session: Session, checklist: Checklist) -> list[str]:
    """The keys of the critical gates that hold a release: not done, done without the
    sign-off they need, or waived by a waiver that does not hold."""
    policy = _policy(session, checklist)
    return [
        item.key
        for item in _gates(session, checklist)
        if item.priority == Priority.CRITICAL and not _passes(item, policy)
    ]


def gate_states(session: Session, checklist: Checklist) -> list[dict[str, Any]]:
    """Every gate as it stands: what a shipped release records of them."""
    return [
        {
            "key": item.key,
            "repeats": item.repeats,
            "priority": item.priority,
            "status": item.status,
            "signed_off_by": item.signed_off_by,
            "waiver_expires_on": (item.waiver or {}).get("expires_on"),
        }
        for item in _gates(session, checklist)
    ]


@dataclass(frozen=True)
class Reopened:
    """A gate a release reopened: why (its `repeats`), and its state before."""

    item: ChecklistItem
    before: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        before = dict(self.before)
        if before.get("signed_off_at") is not None:
            before["signed_off_at"] = before["signed_off_at"].isoformat()
        return {"key": self.item.key, "repeats": self.item.repeats, "before": before}


def reopen_gates(
    session: Session,
    ctx: Context,
    project: Project,
    checklist: Checklist,
    version: str,
    *,
    model_changed: bool,
) -> list[Reopened]:
    """Reopen the gates a new release asks again: every `per-release` one, and the
    `per-model-version` ones when its model differs from the previous release's. A gate
    reopens `open`, without sign-off or evidence; a waived one keeps its waiver while the
    waiver holds (`waiver_holds`). Each reopened item's event keeps what it was before. The
    caller holds the checklist's lock, and has recorded its lapsed waivers."""
    asked = {Repeats.PER_RELEASE.value}
    if model_changed:
        asked.add(Repeats.PER_MODEL_VERSION.value)
    policy = _policy(session, checklist)
    reopened: list[Reopened] = []
    for item in _gates(session, checklist):
        if item.repeats not in asked or waiver_holds(item, policy):
            continue
        before = {name: getattr(item, name) for name in REOPENED_FIELDS}
        after: dict[str, Any] = {
            "status": ItemStatus.OPEN.value,
            "waiver": None,
            "signed_off_by": None,
            "signed_off_with": None,
            "signed_off_at": None,
            "evidence": [],
        }
        if all(before[name] == after[name] for name in REOPENED_FIELDS):
            continue  # open already, nothing to clear
        for name, value in after.items():
            setattr(item, name, value)
        session.expire(item, ["signer"])
        reopened.append(Reopened(item, before))
    if not reopened:
        return []
    # Written before the events are made: they carry each item's version after it.
    session.flush()
    _record_item_events(session, ctx, project, checklist, version, reopened)
    checklist.next_waiver_expiry = next_waiver_expiry(_waived(session, checklist))
    return reopened


def _waived(session: Session, checklist: Checklist) -> Sequence[ChecklistItem]:
    return list(
        session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.checklist_id == checklist.id,
                ChecklistItem.status == ItemStatus.WAIVED,
            )
        )
    )


# What `before` and `after` show of each kind of item event (as `checklists.items` shows them).
_SHOWN: dict[str, tuple[str, ...]] = {
    "checklist.item.status_changed": ("status", "waiver", "signed_off_by"),
    "checklist.item.updated": ("note", "waiver", "evidence", "signed_off_by"),
}
_WHY = {
    Repeats.PER_RELEASE: "it is asked again of each release",
    Repeats.PER_MODEL_VERSION: "it is asked again when the model changes",
}


def _record_item_events(
    session: Session,
    ctx: Context,
    project: Project,
    checklist: Checklist,
    version: str,
    reopened: Sequence[Reopened],
) -> None:
    """One event an item: `status_changed` when its status changed, else `updated` (an open
    item losing its evidence); `before` shows what it was, `reason` which release and why."""
    events = ItemEvents(session, ctx, project, checklist)
    owners = load_owners(session, checklist)
    for gate in reopened:
        item, before = gate.item, gate.before
        type_ = (
            "checklist.item.status_changed"
            if before["status"] != item.status
            else "checklist.item.updated"
        )
        events.record(
            item,
            type_,
            events.snapshot(item, owners.get(item.id, [])),
            {**before, "note": item.note},
            _SHOWN[type_],
            reason=f"release {version} opened: {_WHY[Repeats(item.repeats or '')]}",
        )
