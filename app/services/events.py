"""Recording events in the transaction of the change they describe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.models import Event
from app.services.context import Context
from app.services.webhooks.outbox import remember_event


def record_event(
    session: Session,
    ctx: Context,
    team_id: str,
    type_: str,
    payload: dict[str, Any],
    *,
    project_id: str | None = None,
    actor: str | None = None,
) -> Event:
    """Add an event to the session; it commits (or not) with the change itself. `actor`
    overrides the context's, for what the system does on its own (an expired waiver)."""
    event = Event(
        team_id=team_id,
        project_id=project_id,
        type=type_,
        actor=actor or ctx.actor,
        actor_person_id=None if actor else ctx.person_id,
        request_id=ctx.request_id,
        payload=payload,
    )
    session.add(event)
    remember_event(session, event)
    return event


def events_query(
    team_id: str, *, project_id: str | None = None, type_: str | None = None
) -> Select[Event]:
    """The team's events, or only those of one of its projects, for a list to page."""
    # One equality before the (created_at, id) keyset: each case has its index.
    if project_id is not None:
        stmt = select(Event).where(Event.project_id == project_id)
    else:
        stmt = select(Event).where(Event.team_id == team_id)
    if type_ is not None:
        stmt = stmt.where(Event.type == type_)
    return stmt


def changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply `values` to `obj` and return `{field: [before, after]}` for what really changed."""
    changed: dict[str, list[Any]] = {}
    for field, value in values.items():
        before = getattr(obj, field)
        if before != value:
            setattr(obj, field, value)
            changed[field] = [before, value]
    return changed
