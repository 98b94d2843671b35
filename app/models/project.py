"""Projects and their staffing (assignments)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, PublicIdMixin, TimestampMixin, VersionedMixin, utcnow
from app.models.directory import Person
from app.vocabulary import TRAIT_FIELDS, ProjectStatus, RiskClassification, values

PROJECT_STATUSES: tuple[str, ...] = values(ProjectStatus)
RISK_CLASSIFICATIONS: tuple[str, ...] = values(RiskClassification)
# The project's context as the team states it: what the checklist opens with.
CONTEXT_FIELDS: tuple[str, ...] = (
    "intended_use",
    "prohibited_uses",
    "affected_people",
    "jurisdictions",
    "risk_classification",
    "risk_tolerance",
)
# The context a project holds until it states one (the columns' defaults).
EMPTY_CONTEXT: dict[str, Any] = {
    "intended_use": "",
    "prohibited_uses": [],
    "affected_people": [],
    "jurisdictions": [],
    "risk_classification": "unclassified",
    "risk_tolerance": "",
}


class Project(PublicIdMixin, TimestampMixin, VersionedMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("team_id", "slug"),
        CheckConstraint("status IN ('active', 'archived')", name="status"),
        CheckConstraint(
            "risk_classification IN ('unclassified', 'minimal', 'limited', 'high', 'prohibited')",
            name="risk_classification",
        ),
        CheckConstraint(
            "model_source IS NULL OR model_source IN "
            "('hosted-third-party', 'fine-tuned', 'trained-in-house')",
            name="model_source",
        ),
        # The project list: a team's projects of one status, newest first, by keyset.
        Index("ix_projects_team_status_created", "team_id", "status", "created_at", "id"),
    )
    id_prefix = "prj"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    application: Mapped[str] = mapped_column(ForeignKey("catalog_applications.key"))
    # Traits as the project states them: true, false, or null when it does not say (then
    # its application's `implies_traits` decide).
    handles_personal_data: Mapped[bool | None]
    user_facing: Mapped[bool | None]
    generates_public_content: Mapped[bool | None]
    regulated_domain: Mapped[bool | None]
    uses_third_party_models: Mapped[bool | None]
    generates_code: Mapped[bool | None]
    reads_untrusted_content: Mapped[bool | None]
    states_facts: Mapped[bool | None]
    affects_decisions_about_people: Mapped[bool | None]
    synthetic_media: Mapped[bool | None]
    minors_may_use: Mapped[bool | None]
    general_purpose_assistant: Mapped[bool | None]
    advertises: Mapped[bool | None]
    # Where the model comes from (`ModelSource`), or null when the project does not say.
    model_source: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The context (`CONTEXT_FIELDS`): what it is for and not for, who it affects, where it is
    # used, its risk as the team classifies it, and how much risk the team accepts.
    intended_use: Mapped[str] = mapped_column(Text, default="")
    prohibited_uses: Mapped[list[str]] = mapped_column(default=list)
    affected_people: Mapped[list[str]] = mapped_column(default=list)
    jurisdictions: Mapped[list[str]] = mapped_column(default=list)
    risk_classification: Mapped[str] = mapped_column(String(16), default="unclassified")
    risk_tolerance: Mapped[str] = mapped_column(Text, default="")

    @classmethod
    def is_ref(cls, team_id: str, ref: str) -> ColumnElement[bool]:
        """The team's project named by `ref`, its id (`prj_…`) or its slug (never `prj_…`)."""
        column = cls.id if ref.startswith(f"{cls.id_prefix}_") else cls.slug
        return and_(cls.team_id == team_id, column == ref)

    @property
    def context(self) -> dict[str, Any]:
        """The project's context, each field as stated."""
        return {name: getattr(self, name) for name in CONTEXT_FIELDS}

    @property
    def traits(self) -> dict[str, bool | str | None]:
        """Each trait as stated: true, false (a `ModelSource` for `model_source`), or None
        when the project does not say."""
        return {name: getattr(self, name) for name in TRAIT_FIELDS}


class Assignment(PublicIdMixin, Base):
    """A person in a role on a project; a person never holds the same role twice."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("project_id", "person_id", "role_key"),
        CheckConstraint(
            "allocation IS NULL OR (allocation >= 0 AND allocation <= 100)", name="allocation"
        ),
    )
    id_prefix = "asg"

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role_key: Mapped[str] = mapped_column(ForeignKey("catalog_roles.key"))
    allocation: Mapped[int | None]
    lead: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined", innerjoin=True)
