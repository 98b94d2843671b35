"""People in a team's directory."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, PublicIdMixin, TimestampMixin, VersionedMixin


def handles_of(github: str | None, jira: str | None, linear: str | None) -> dict[str, str]:
    """A person's handles that are set, by ticketing system (the columns as a read gives them)."""
    pairs = (("github", github), ("jira", jira), ("linear", linear))
    return {system: handle for system, handle in pairs if handle}


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
    # Stored casefolded (`app.services.directory.emails.normalize_email`): uniqueness ignores
    # case.
    email: Mapped[str] = mapped_column(String(254))
    github: Mapped[str | None] = mapped_column(String(39))
    jira: Mapped[str | None] = mapped_column(String(128))
    linear: Mapped[str | None] = mapped_column(String(128))

    @property
    def handles(self) -> dict[str, str]:
        return handles_of(self.github, self.jira, self.linear)


# A person as owners and staffing read them, as plain columns: id, name, email, then the
# handles in `handles_of`'s order.
PERSON_COLUMNS = (Person.id, Person.name, Person.email, Person.github, Person.jira, Person.linear)
