"""Erasures: which people of a team were erased, so that erasing them again answers the same."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Erasure(Base):
    """A person erased from a team: their id (no other personal data) and who erased them when.
    The person's pseudonym is derived from the id (`app.services.directory.erasure`)."""

    __tablename__ = "erasures"

    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The actor of the request or command that erased them (`api_key:<id>`, `cli`).
    actor: Mapped[str] = mapped_column(String(64))
