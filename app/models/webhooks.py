"""Outgoing webhooks: endpoints a team registers, and the outbox of deliveries to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, PublicIdMixin, TimestampMixin, VersionedMixin, utcnow
from app.vocabulary import DeliveryStatus, values

# pending: not attempted yet; retrying: failed, another attempt scheduled; succeeded: a 2xx;
# dead: no attempt left (or the endpoint was disabled), resent only by hand.
DELIVERY_STATUSES: tuple[str, ...] = values(DeliveryStatus)
DUE_STATUSES: tuple[str, ...] = (DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value)
# Written out (not bound parameters) so that PostgreSQL matches the worker's query to the
# partial index of due deliveries whatever plan it caches. (No other table the worker's
# queries join has a `status` column.)
DUE_PREDICATE = "status IN ('pending', 'retrying')"


class WebhookEndpoint(PublicIdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "webhook_endpoints"
    id_prefix = "whk"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Exact event types or patterns (`checklist.*`, `*`).
    event_types: Mapped[list[str]]
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # Static headers sent with every delivery (a token for Jira Automation, say).
    headers: Mapped[dict[str, str]]
    # Signing secrets are needed in clear to sign; they are never shown after creation or
    # rotation. The previous secret keeps signing until its grace period ends.
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    disabled_at: Mapped[datetime | None]
    # When deliveries started failing without a success since: disabled once it is too long ago.
    failing_since: Mapped[datetime | None]


class WebhookDelivery(PublicIdMixin, Base):
    """One message to one endpoint: written in the transaction of the event it carries, sent
    by the worker, retried with the same `message_id` (the `webhook-id` header)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'retrying', 'succeeded', 'dead')", name="status"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
        # The log filtered by status (`?status=dead`): a page costs the same however rare the
        # status and however long the log.
        Index(
            "ix_webhook_deliveries_endpoint_status_created",
            "endpoint_id",
            "status",
            "created_at",
            "id",
        ),
        # What the worker claims: only due deliveries are in this index.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text(DUE_PREDICATE),
            sqlite_where=text(DUE_PREDICATE),
        ),
    )
    id_prefix = "dlv"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # None for a ping, which is not an event of the team.
    event_id: Mapped[str | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(64))
    # The exact body sent, fixed when the event happened: every retry sends the same bytes.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # A worker's claim: another worker may take the delivery over once it has passed.
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    succeeded_at: Mapped[datetime | None]

    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.attempted_at", lazy="raise", passive_deletes=True
    )


class WebhookAttempt(PublicIdMixin, Base):
    """One try of a delivery, as the delivery log shows it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempted_at"),)
    id_prefix = "att"

    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
    # The first KiB of the receiver's answer.
    response_excerpt: Mapped[str | None] = mapped_column(Text)
