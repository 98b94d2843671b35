"""Teams (the tenants) and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, PublicIdMixin, utcnow

SCOPES: tuple[str, ...] = ("read", "write", "admin")


class Team(PublicIdMixin, Base):
    __tablename__ = "teams"
    id_prefix = "team"

    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(PublicIdMixin, Base):
    """An API key; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"
    id_prefix = "key"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The first characters of the token, safe to show, so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(24))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # A personal key acts as this person of the team: what it signs off or approves is theirs.
    # A team key (no person) reads and writes but signs nothing. The person's keys are revoked
    # when they are removed, and go with them.
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )

    team: Mapped[Team] = relationship(lazy="joined")

    @property
    def version(self) -> int:
        """What its ETag follows: a key changes only by being revoked (its last use is
        bookkeeping, not a change of the key)."""
        return 1 if self.revoked_at is None else 2

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in self.scopes.split(",") if scope]
