"""Recording events in the transaction of the change they describe."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from sqlalchemy.orm import Session

from app.models import Event


def record_event(
    session: Session,
    team_id: str,
    type_: str,
    payload: dict[str, Any],
    *,
    project_id: str | None = None,
    actor: str | None = None,
) -> Event:
    """Add an event to the session; it commits (or not) with the change itself."""
    if actor is None:
        actor = "system"
        if has_request_context() and g.get("api_key") is not None:
            actor = f"api_key:{g.api_key.id}"
    request_id = g.get("request_id") if has_request_context() else None
    event = Event(
        team_id=team_id,
        project_id=project_id,
        type=type_,
        actor=actor,
        request_id=request_id,
        payload=payload,
    )
    session.add(event)
    return event


def changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply `values` to `obj` and return `{field: [before, after]}` for what really changed."""
    changed: dict[str, list[Any]] = {}
    for field, value in values.items():
        before = getattr(obj, field)
        if before != value:
            setattr(obj, field, value)
            changed[field] = [before, value]
    return changed
