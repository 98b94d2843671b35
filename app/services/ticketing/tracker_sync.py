"""Native tickets: which items an integration's `tickets` select, the state each item status asks
of its ticket, the list of an integration's tickets, and the inbound side's part (a change the
tracker made is not sent back). The worker that opens, updates and closes the tickets is
`app/workers/tickets.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from app.models import ChecklistItem, Integration, TicketSync, utcnow
from app.vocabulary import PRIORITIES, ItemStatus, TicketSyncState

__all__ = [
    "HAS_TICKETS",
    "OPEN_STATUSES",
    "note_inbound",
    "selected_items",
    "ticket_sync_view",
    "tickets_query",
    "wanted_state",
]

# An integration opens tickets when it has a tracker's token (set with its `tickets`).
HAS_TICKETS = Integration.tickets_token.is_not(None)

OPEN_STATUSES = (ItemStatus.OPEN.value, ItemStatus.IN_PROGRESS.value)
# The state and close reason each item status asks of its ticket (GitHub's `state_reason`; a
# Jira done status named like *Won't do* and Linear's canceled state type are `not_planned`).
_CLOSE_REASONS = {
    ItemStatus.DONE.value: "completed",
    ItemStatus.WAIVED.value: "not_planned",
    ItemStatus.OBSOLETE.value: "not_planned",
}


_NOT_PLANNED = (ItemStatus.WAIVED.value, ItemStatus.OBSOLETE.value)


def wanted_state(status: str) -> tuple[str, str | None]:
    """The ticket's state (and close reason) an item status asks for."""
    reason = _CLOSE_REASONS.get(status)
    return ("closed", reason) if reason else ("open", None)


def tickets_query(integration: Integration) -> Select[TicketSync]:
    """An integration's sync rows (each with its item), for a list to page."""
    return select(TicketSync).where(
        TicketSync.integration_id == integration.id,
        TicketSync.team_id == integration.team_id,
    )


def ticket_sync_view(sync: TicketSync) -> dict[str, Any]:
    """One item's ticket and how its sync goes, as the API shows it."""
    ticket = None
    if sync.ticket_key:
        system = sync.integration.provider
        ticket = {"system": system, "key": sync.ticket_key, "url": sync.ticket_url}
    return {
        "id": sync.id,
        "item_id": sync.item_id,
        "item_key": sync.item.key,
        "project_id": sync.item.project_id,
        "state": sync.state,
        "ticket": ticket,
        "ticket_state": _ticket_state(sync),
        "attempts": sync.attempts,
        "last_error": sync.last_error,
        "next_attempt_at": sync.next_attempt_at if sync.state != TicketSyncState.SYNCED else None,
        "created_at": sync.created_at,
        "updated_at": sync.updated_at,
    }


def _ticket_state(sync: TicketSync) -> str | None:
    if sync.remote_state is None:
        return None
    if sync.remote_state == "closed" and sync.remote_reason:
        return f"closed as {sync.remote_reason.replace('_', ' ')}"
    return sync.remote_state


# The states inbound deliveries give (GitHub's close reasons, Jira's status categories,
# Linear's state types), by tracker, and the ticket's state they mean. Jira's `done` category
# holds both finished and abandoned work: what the item became says which (`_closed_as`).
_REMOTE_STATES: dict[str, dict[str, tuple[str, str | None] | None]] = {
    "github": {
        "completed": ("closed", "completed"),
        "not_planned": ("closed", "not_planned"),
        "duplicate": ("closed", "duplicate"),
        "reopened": ("open", None),
    },
    "jira": {"new": ("open", None), "indeterminate": ("open", None), "done": None},
    "linear": {
        "triage": ("open", None),
        "backlog": ("open", None),
        "unstarted": ("open", None),
        "started": ("open", None),
        "completed": ("closed", "completed"),
        "canceled": ("closed", "not_planned"),
    },
}


def note_inbound(
    session: Session, item: ChecklistItem, ticket: Mapping[str, Any], state: str | None
) -> None:
    """An item changed by a delivery about `ticket` (now in `state`): the rows of that ticket
    count the item's new version as synced, and the tracker's state as known, so nothing is
    sent back (a close that left the item held in progress does not reopen the issue)."""
    states = _REMOTE_STATES.get(str(ticket.get("system")))
    if states is None:
        return
    values: dict[str, Any] = {"synced_version": item.version, "updated_at": utcnow()}
    if state in states:
        known = states[state]
        if known is None:  # closed, as what the item became says
            reason = "not_planned" if item.status in _NOT_PLANNED else "completed"
            known = ("closed", reason)
        values["remote_state"], values["remote_reason"] = known
    session.execute(
        update(TicketSync)
        .where(
            TicketSync.item_id == item.id,
            func.lower(TicketSync.ticket_key) == str(ticket.get("key", "")).lower(),
            TicketSync.state == TicketSyncState.SYNCED,
        )
        .values(values)
        .execution_options(synchronize_session=False)
    )


def selected_items(integration: Integration) -> Any:
    """The items an integration's tickets select (the team's, or its project's)."""
    tickets = integration.tickets or {}
    floor = PRIORITIES.index(tickets.get("min_priority", "low"))
    stmt = select(ChecklistItem).where(
        ChecklistItem.team_id == integration.team_id,
        ChecklistItem.priority.in_(PRIORITIES[floor:]),
    )
    if integration.project_id is not None:
        stmt = stmt.where(ChecklistItem.project_id == integration.project_id)
    if tickets.get("kinds"):
        stmt = stmt.where(ChecklistItem.kind.in_(tickets["kinds"]))
    if tickets.get("phases"):
        stmt = stmt.where(ChecklistItem.phase.in_(tickets["phases"]))
    return stmt
