"""Events: the immutable record of every change, written in the change's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, PublicIdMixin, utcnow


class Event(PublicIdMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_team_created", "team_id", "created_at", "id"),
        Index("ix_events_project_created", "project_id", "created_at", "id"),
    )
    id_prefix = "evt"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    # Who did it: "api_key:<id>" for API calls, "cli" for the command line, "system".
    actor: Mapped[str] = mapped_column(String(64))
    # The person of the personal key that made the change (who signed, who approved); kept as
    # written, like the rest of the event, whatever becomes of the person afterwards.
    actor_person_id: Mapped[str | None] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
