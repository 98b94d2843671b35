"""Retention: what grows without bound is pruned once it is older than the operator keeps it.

Three tables grow with every change and every delivery: the webhook deliveries (each with its
attempts), the inbound deliveries, and the events. A delivery is pruned once it is finished
(succeeded or dead) and older than `WEBHOOK_DELIVERY_RETENTION_DAYS`; an inbound delivery once
older than `INBOUND_DELIVERY_RETENTION_DAYS` (a redelivery of a pruned one is applied again,
which changes nothing when the ticket did not); an event only when `EVENT_RETENTION_DAYS` is set,
and never while a delivery of it is still due (its deliveries go with it).

Each prune is one batch of rows, found by the index the lists use (their parent and
`created_at`) and deleted by primary key; the caller commits it at once
(`app/workers/pruning.py`), so a transaction holds its row locks for milliseconds. On
PostgreSQL rows another transaction holds are skipped (`SKIP LOCKED`): a pruning never waits for
a request, and a request waits at most for one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import (
    Event,
    InboundDelivery,
    Integration,
    Team,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.models.webhooks import DUE_STATUSES
from app.vocabulary import DeliveryStatus

FINISHED = (DeliveryStatus.SUCCEEDED.value, DeliveryStatus.DEAD.value)


def _old_deliveries(cutoff: datetime) -> Select[Any]:
    return select(WebhookDelivery.id).where(
        # The endpoint leads the index of the delivery log: (endpoint_id, created_at, id).
        WebhookDelivery.endpoint_id.in_(select(WebhookEndpoint.id)),
        WebhookDelivery.created_at < cutoff,
        WebhookDelivery.status.in_(FINISHED),
    )


def _old_inbound(cutoff: datetime) -> Select[Any]:
    return select(InboundDelivery.id).where(
        InboundDelivery.integration_id.in_(select(Integration.id)),
        InboundDelivery.created_at < cutoff,
    )


def _old_events(cutoff: datetime) -> Select[Any]:
    due = exists().where(
        WebhookDelivery.event_id == Event.id, WebhookDelivery.status.in_(DUE_STATUSES)
    )
    return select(Event.id).where(
        Event.team_id.in_(select(Team.id)), Event.created_at < cutoff, ~due
    )


def _delete_deliveries(session: Session, ids: list[str]) -> None:
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))


def _delete_inbound(session: Session, ids: list[str]) -> None:
    session.execute(delete(InboundDelivery).where(InboundDelivery.id.in_(ids)))


def _delete_events(session: Session, ids: list[str]) -> None:
    # Their deliveries, all finished, and the deliveries' attempts go with them.
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(ids))
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(ids)))
    session.execute(delete(Event).where(Event.id.in_(ids)))


@dataclass(frozen=True)
class Retention:
    """One table's retention: its days (a setting), which rows are past it, how a batch goes."""

    table: str
    days_of: Callable[[Settings], int | None]
    old: Callable[[datetime], Select[Any]]
    remove: Callable[[Session, list[str]], None]

    def cutoff(self, settings: Settings, now: datetime) -> datetime | None:
        """Rows created before it are past retention; None when the table is kept forever."""
        days = self.days_of(settings)
        return None if days is None else now - timedelta(days=days)

    def prune_batch(self, session: Session, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` rows past retention (and what goes with them) in the caller's
        transaction; how many. Rows locked by another transaction are left for later."""
        stmt = self.old(cutoff).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(session.scalars(stmt))
        if ids:
            self.remove(session, ids)
        return len(ids)

    def backlog(self, connection: Connection, cutoff: datetime) -> int:
        """How many rows are past retention, not yet pruned."""
        counted = select(func.count()).select_from(self.old(cutoff).subquery())
        return int(connection.execute(counted).scalar_one())


RETENTIONS: tuple[Retention, ...] = (
    Retention(
        "webhook_deliveries",
        lambda settings: settings.webhook_delivery_retention_days,
        _old_deliveries,
        _delete_deliveries,
    ),
    Retention(
        "inbound_deliveries",
        lambda settings: settings.inbound_delivery_retention_days,
        _old_inbound,
        _delete_inbound,
    ),
    Retention(
        "events",
        lambda settings: settings.event_retention_days,
        _old_events,
        _delete_events,
    ),
)


def backlogs(connection: Connection, settings: Settings, now: datetime) -> dict[str, int]:
    """Each table's rows past retention (0 for a table kept forever)."""
    found = {}
    for retention in RETENTIONS:
        cutoff = retention.cutoff(settings, now)
        found[retention.table] = 0 if cutoff is None else retention.backlog(connection, cutoff)
    return found
