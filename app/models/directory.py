"""People in a team's directory."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, PublicIdMixin, TimestampMixin, VersionedMixin


class Person(PublicIdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("team_id", "email"),
        # The directory list: a team's people newest first, by keyset.
        Index("ix_people_team_created", "team_id", "created_at", "id"),
    )
    id_prefix = "per"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # Stored lower-cased, so uniqueness ignores case.
    email: Mapped[str] = mapped_column(String(254))
    github: Mapped[str | None] = mapped_column(String(39))
    jira: Mapped[str | None] = mapped_column(String(128))
    linear: Mapped[str | None] = mapped_column(String(128))

    @property
    def handles(self) -> dict[str, str]:
        pairs = (("github", self.github), ("jira", self.jira), ("linear", self.linear))
        return {system: handle for system, handle in pairs if handle}
