"""The catalog as stored: loaded from `seed/` by `flask seed`, read-only at run time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class CatalogVersion(Base):
    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(80), unique=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogEntryMixin:
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    position: Mapped[int]
    source: Mapped[dict[str, Any]]


class CatalogRole(CatalogEntryMixin, Base):
    __tablename__ = "catalog_roles"

    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    required: Mapped[bool]
    required_when: Mapped[dict[str, Any] | None]
    skills: Mapped[list[str]]
    article_skills: Mapped[list[str]] = mapped_column(default=list)
    required_when_classified: Mapped[list[str]] = mapped_column(default=list)
    nist: Mapped[list[str]] = mapped_column(default=list)


class CatalogResponsibility(CatalogEntryMixin, Base):
    __tablename__ = "catalog_responsibilities"

    role_key: Mapped[str] = mapped_column(ForeignKey("catalog_roles.key", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    done_when: Mapped[str] = mapped_column(Text, default="")
    phase: Mapped[str] = mapped_column(String(40), default="plan-and-design")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    evidence_required: Mapped[bool] = mapped_column(default=False)
    repeats: Mapped[str | None] = mapped_column(String(40))
    assumes_training: Mapped[bool] = mapped_column(default=False)
    nist: Mapped[list[str]] = mapped_column(default=list)


class CatalogCollaboration(CatalogEntryMixin, Base):
    __tablename__ = "catalog_collaborations"

    role_key: Mapped[str] = mapped_column(ForeignKey("catalog_roles.key", ondelete="CASCADE"))
    collaborates_with: Mapped[list[str]]
    outcomes: Mapped[list[str]]


class CatalogChallenge(CatalogEntryMixin, Base):
    __tablename__ = "catalog_challenges"

    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)


class CatalogMitigation(CatalogEntryMixin, Base):
    __tablename__ = "catalog_mitigations"

    challenge_key: Mapped[str] = mapped_column(
        ForeignKey("catalog_challenges.key", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    done_when: Mapped[str] = mapped_column(Text, default="")
    phase: Mapped[str] = mapped_column(String(40), default="plan-and-design")
    priority_because: Mapped[str | None] = mapped_column(Text)
    fulfils: Mapped[list[str]] = mapped_column(default=list)
    signoff_required: Mapped[bool] = mapped_column(default=False)
    reviewer_roles: Mapped[list[str]] = mapped_column(default=list)
    evidence_required: Mapped[bool] = mapped_column(default=False)
    owner_roles: Mapped[list[str]]
    priority: Mapped[str] = mapped_column(String(16))
    applies_when: Mapped[dict[str, Any]]
    raised_when: Mapped[list[Any]]
    nist: Mapped[list[str]]
    genai_risks: Mapped[list[str]] = mapped_column(default=list)
    replaces: Mapped[list[str]] = mapped_column(default=list)
    repeats: Mapped[str | None] = mapped_column(String(40))
    assumes_training: Mapped[bool] = mapped_column(default=False)
    agrees_collaborations: Mapped[bool] = mapped_column(default=False)


class CatalogApplication(CatalogEntryMixin, Base):
    __tablename__ = "catalog_applications"

    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    requires_roles: Mapped[list[str]]
    raises: Mapped[dict[str, str]]
    implies_traits: Mapped[list[str]] = mapped_column(default=list)


class CatalogContextItem(CatalogEntryMixin, Base):
    """An item the project's context asks for (`context.<slug>`)."""

    __tablename__ = "catalog_context_items"

    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    done_when: Mapped[str] = mapped_column(Text)
    phase: Mapped[str] = mapped_column(String(40))
    owner_roles: Mapped[list[str]]
    priority: Mapped[str] = mapped_column(String(16))
    priority_because: Mapped[str | None] = mapped_column(Text)
    applies_when: Mapped[dict[str, Any]]
    signoff_required: Mapped[bool]
    reviewer_roles: Mapped[list[str]]
    evidence_required: Mapped[bool]
    # The articles of the EU AI Act (Regulation (EU) 2024/1689) it answers: "Art. 26(6)".
    eu_ai_act: Mapped[list[str]] = mapped_column(default=list)


class CatalogTrait(CatalogEntryMixin, Base):
    """A trait a project states, defined (ours); `values` when it takes values."""

    __tablename__ = "catalog_traits"

    title: Mapped[str] = mapped_column(String(120))
    definition: Mapped[str] = mapped_column(Text)
    values: Mapped[list[Any]] = mapped_column(default=list)


class CatalogRiskRule(CatalogEntryMixin, Base):
    """When a NIST AI 600-1 risk applies to a project (the risk register's rule), one a risk."""

    __tablename__ = "catalog_risk_rules"

    risk: Mapped[str] = mapped_column(String(120))
    rule: Mapped[str] = mapped_column(Text)
    applies_when: Mapped[dict[str, Any]]


class CatalogPack(CatalogEntryMixin, Base):
    """A domain pack: the mitigations (`items`, their keys) a field of work brings, and when."""

    __tablename__ = "catalog_packs"

    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    applies_when: Mapped[dict[str, Any]]
    items: Mapped[list[str]]


class CatalogWaiverPolicy(CatalogEntryMixin, Base):
    """The waiver policy: one row (`waiver-policy`), its rules by priority as JSON."""

    __tablename__ = "catalog_waiver_policies"

    accountable_roles: Mapped[list[str]]
    rules: Mapped[list[Any]]
    never_waived: Mapped[list[Any]]
