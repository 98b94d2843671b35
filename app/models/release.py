"""Releases of a project: the model they ship and the go/no-go of their gates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, PublicIdMixin, utcnow
from app.vocabulary import ReleaseStatus, values

RELEASE_STATUSES: tuple[str, ...] = values(ReleaseStatus)
_OPEN = f"status = '{ReleaseStatus.OPEN}'"


class Release(PublicIdMixin, Base):
    """A release of a project, by its version (unique in the project). One is `open` at a
    time: a partial unique index holds it, whatever two requests do at once."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("project_id", "version"),
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in RELEASE_STATUSES)})", name="status"
        ),
        Index(
            "ix_releases_one_open",
            "project_id",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        # The project's releases, newest first, by keyset.
        Index("ix_releases_project_opened", "project_id", "opened_at", "id"),
    )
    id_prefix = "rel"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(100))
    model_provider: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ReleaseStatus.OPEN.value)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who did it: the actor of the request (`api_key:<id>`), as events record it.
    opened_by: Mapped[str] = mapped_column(String(64))
    shipped_at: Mapped[datetime | None]
    shipped_by: Mapped[str | None] = mapped_column(String(64))
    superseded_at: Mapped[datetime | None]
    superseded_by: Mapped[str | None] = mapped_column(
        String(64), doc="The version of the release that superseded it"
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Bumped on every UPDATE (the ETag's part); not `version`, which is the release's own.
    row_version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": row_version}

    @property
    def model(self) -> dict[str, str | None]:
        return {
            "name": self.model_name,
            "version": self.model_version,
            "provider": self.model_provider,
        }
