"""The transactional outbox: each committed event becomes one delivery per matching endpoint.

Services record events in the transaction of their change (`record_event`). Just before that
transaction commits, whoever owns it (a request, a CLI command, the delivery worker), this
hook adds the deliveries of its events, so the change, its events and their deliveries commit
together or not at all. On PostgreSQL it also notifies the delivery workers, which hear it the
moment the transaction commits.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from app.models import Event, WebhookDelivery, WebhookEndpoint, new_id, utcnow
from app.services.webhooks.event_types import matches
from app.vocabulary import DeliveryStatus

CHANNEL = "webhook_deliveries"
_PENDING = "outbox_events"


def remember_event(session: Session, event: Event) -> None:
    """Note an event of this transaction for the outbox (called by `record_event`)."""
    session.info.setdefault(_PENDING, []).append(event)


def pending_events(session: Session) -> list[Event]:
    """The events of this transaction not yet fanned out (the revisions' recording reads
    them, just before the outbox takes them)."""
    return list(session.info.get(_PENDING, ()))


def message_body(event_type: str, timestamp: str, data: dict[str, Any]) -> str:
    """The Standard Webhooks body, `{"type", "timestamp", "data"}`, as sent."""
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def endpoint_wants(endpoint: Any, event: Event) -> bool:
    """Whether an endpoint subscribes to an event: its type and, if set, its project."""
    if endpoint.project_id is not None and endpoint.project_id != event.project_id:
        return False
    return any(matches(pattern, event.type) for pattern in endpoint.event_types)


def _fan_out(session: Session) -> None:
    events: list[Event] = session.info.pop(_PENDING, [])
    if not events:
        return
    session.flush()
    # Disabled endpoints get their deliveries too, born dead: nothing is sent to them, and
    # `recover` brings back what happened while they were off once they are enabled again.
    endpoints = session.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.team_id,
            WebhookEndpoint.event_types,
            WebhookEndpoint.project_id,
            WebhookEndpoint.enabled,
        ).where(WebhookEndpoint.team_id.in_({e.team_id for e in events}))
    ).all()
    if not endpoints:
        return
    now = utcnow()
    rows = [
        {
            "id": new_id(WebhookDelivery.id_prefix),
            "team_id": event.team_id,
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "message_id": event.id,
            "event_type": event.type,
            "body": message_body(event.type, event.created_at.isoformat(), event.payload),
            "status": "pending" if endpoint.enabled else "dead",
            "attempts": 0,
            "next_attempt_at": now if endpoint.enabled else None,
            "last_error": None if endpoint.enabled else "endpoint disabled",
            "created_at": now,
            "updated_at": now,
        }
        for event in events
        for endpoint in endpoints
        if endpoint.team_id == event.team_id and endpoint_wants(endpoint, event)
    ]
    if rows:
        session.execute(insert(WebhookDelivery.__table__), rows)
        if any(row["status"] == DeliveryStatus.PENDING for row in rows):
            notify_workers(session)


def notify_workers(session: Session) -> None:
    """Wake the delivery workers when this transaction commits (PostgreSQL; on SQLite the
    worker polls)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_notify('{CHANNEL}', '')"))


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Hook the outbox into every session's commit (once per process)."""
    if not sa_event.contains(Session, "before_commit", _fan_out):
        sa_event.listen(Session, "before_commit", _fan_out)
        sa_event.listen(Session, "after_rollback", _forget)
