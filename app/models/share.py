"""Read-only share links: to a project's checklist, or to the team dashboard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, PublicIdMixin, utcnow

# What a link opens: one project's checklist, or its team's dashboard.
SHARE_TARGETS = ("checklist", "dashboard")


class ShareLink(PublicIdMixin, Base):
    """A link that opens one project's checklist, or its team's dashboard, without an API key,
    read-only, until it expires or is revoked. Its token is in the URL given once; only its hash
    is kept, except for a ticket link (`tickets`), whose URL is written into the project's
    ticket texts and events, and so is kept to be written there again.

    The table keeps the name it had when links opened only checklists (migration 0016)."""

    __tablename__ = "checklist_shares"
    __table_args__ = (
        # The project's links, newest first, by keyset.
        Index("ix_checklist_shares_project_created", "project_id", "created_at", "id"),
        CheckConstraint(
            "(target = 'checklist' AND project_id IS NOT NULL)"
            " OR (target = 'dashboard' AND project_id IS NULL AND NOT tickets)",
            name="target",
        ),
        CheckConstraint("token IS NULL OR tickets", name="ticket_token"),
    )
    id_prefix = "shr"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(16), default="checklist")
    # None for a dashboard link.
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A ticket link: its URL goes into the project's ticket texts and events (the newest live
    # one), so its token is kept; every other link's token is never stored.
    tickets: Mapped[bool] = mapped_column(default=False)
    token: Mapped[str | None] = mapped_column(String(64))
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
