"""Read-only share links to a project's checklist: only the SHA-256 of each link's token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, PublicIdMixin, utcnow


class ChecklistShare(PublicIdMixin, Base):
    """A link that opens one project's checklist without an API key, read-only, until it
    expires or is revoked. The token is in the URL given once; only its hash is kept."""

    __tablename__ = "checklist_shares"
    __table_args__ = (
        # The project's links, newest first, by keyset.
        Index("ix_checklist_shares_project_created", "project_id", "created_at", "id"),
    )
    id_prefix = "shr"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Counted in batches outside the requests that use the link (`app.http.key_use`).
    uses: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None]

    @property
    def version(self) -> int:
        """What its ETag follows: a link changes only by being revoked (its uses are
        bookkeeping, not a change of the link)."""
        return 1 if self.revoked_at is None else 2
