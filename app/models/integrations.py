"""Inbound ticketing integrations, and the record of every delivery they received."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, PublicIdMixin, TimestampMixin, VersionedMixin, utcnow
from app.vocabulary import InboundOutcome, Provider, TicketSyncState, Verification, values

if TYPE_CHECKING:
    from app.models.checklist import ChecklistItem

PROVIDERS: tuple[str, ...] = values(Provider)
VERIFICATIONS: tuple[str, ...] = values(Verification)
INBOUND_OUTCOMES: tuple[str, ...] = values(InboundOutcome)


class Integration(PublicIdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "integrations"
    __table_args__ = (
        CheckConstraint("provider IN ('github', 'jira', 'linear', 'generic')", name="provider"),
        CheckConstraint("verification IN ('signature', 'token')", name="verification"),
    )
    id_prefix = "int"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    # Only items of this project follow the tickets (all the team's projects when null).
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # The provider's ticket states mapped to item statuses (or `ignore`), over the defaults.
    status_map: Mapped[dict[str, str]]
    verification: Mapped[str] = mapped_column(String(16), default="signature")
    # Needed in clear to compute HMACs; never shown after creation or rotation. The previous
    # secret still verifies until its grace period ends, while the sender is being updated.
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None]
    # Native tickets (GitHub, Jira, Linear): where and for which items, without the token,
    # which is kept apart, encrypted with `TICKETS_ENCRYPTION_KEY` (Fernet), and never shown.
    tickets: Mapped[dict[str, Any] | None]
    tickets_token: Mapped[str | None] = mapped_column(Text)


class InboundDelivery(PublicIdMixin, Base):
    """One authenticated delivery an integration received: what came, and what it did."""

    __tablename__ = "inbound_deliveries"
    __table_args__ = (
        # A redelivery (same provider delivery id) is found here and changes nothing.
        UniqueConstraint("integration_id", "delivery_id"),
        CheckConstraint(
            "outcome IN ('applied', 'unchanged', 'ignored', 'no_item', 'ping')", name="outcome"
        ),
        Index("ix_inbound_deliveries_integration_created", "integration_id", "created_at", "id"),
    )
    id_prefix = "ind"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    # The provider's id of the delivery (`X-GitHub-Delivery`, `X-Atlassian-Webhook-Identifier`,
    # `Linear-Delivery`, `webhook-id`), or `sha256:<body digest>` when it sends none.
    delivery_id: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(100))
    ticket: Mapped[dict[str, Any] | None]
    ticket_state: Mapped[str | None] = mapped_column(String(100))
    sender: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(500))
    # Each item it changed or looked at: id, key, project, the changes and the events recorded.
    items: Mapped[list[Any]]
    status_code: Mapped[int]
    # The request's id, which the events it recorded carry too.
    request_id: Mapped[str | None] = mapped_column(String(128))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


TICKET_SYNC_STATES: tuple[str, ...] = values(TicketSyncState)


class TicketSync(PublicIdMixin, Base):
    """One item's ticket in an integration's tracker: what was last sent, and how it went.

    `creating` is the intent to open the ticket, committed before the request: a worker that
    finds a row so left (its predecessor died before recording the answer) looks the ticket up
    by the item's marker before opening one, so an item never gets two."""

    __tablename__ = "ticket_syncs"
    __table_args__ = (
        UniqueConstraint("integration_id", "item_id"),
        CheckConstraint("state IN ('pending', 'creating', 'synced', 'retrying')", name="state"),
        Index("ix_ticket_syncs_due", "next_attempt_at"),
    )
    id_prefix = "tks"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    # One ticket an item, whichever integration opened it (two integrations selecting the same
    # item must not open two).
    item_id: Mapped[str] = mapped_column(
        ForeignKey("checklist_items.id", ondelete="CASCADE"), index=True, unique=True
    )
    state: Mapped[str] = mapped_column(String(16), default=TicketSyncState.PENDING)
    # The ticket once known: its key as people write it (`owner/repo#12`, `CLIN-7`, `ENG-42`),
    # the id the tracker's API addresses it by (GitHub's issue number, Jira's issue id,
    # Linear's issue id: ids do not change when an issue moves), GitHub's number, its page.
    ticket_key: Mapped[str | None] = mapped_column(String(300))
    ticket_ref: Mapped[str | None] = mapped_column(String(100))
    ticket_number: Mapped[int | None]
    ticket_url: Mapped[str | None] = mapped_column(String(2048))
    # What the tracker has, as far as we know: `open` or `closed` (and why: `completed` or
    # `not_planned`, whichever tracker: a Jira won't-do status, a Linear canceled state).
    remote_state: Mapped[str | None] = mapped_column(String(16))
    remote_reason: Mapped[str | None] = mapped_column(String(16))
    # The item's version the ticket was last brought up to (a change the tracker itself made,
    # received inbound, counts as brought up to: it is not echoed back).
    synced_version: Mapped[int | None]
    # When the intent to open the ticket was first committed (the look-up searches from it).
    intent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Read with the row (its key and project show in the list of an integration's tickets).
    item: Mapped[ChecklistItem] = relationship(lazy="joined", innerjoin=True, viewonly=True)
    # Its tracker (the ticket link's system), read with a page of rows in one more query.
    integration: Mapped[Integration] = relationship(lazy="selectin", viewonly=True)
