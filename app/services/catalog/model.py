"""The catalog's in-memory shape: immutable dataclasses shared by the seed loader, the database
mapping and the pure checklist generator."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.vocabulary import PRIORITIES, SourceKind


def priority_rank(priority: str) -> int:
    """Order priorities so that a higher rank means more urgent."""
    return PRIORITIES.index(priority)


def max_priority(*priorities: str) -> str:
    return max(priorities, key=priority_rank)


@dataclass(frozen=True)
class Passage:
    """A verbatim passage of the article: the part it is in, and the words."""

    section: str
    quote: str

    def as_dict(self) -> dict[str, str]:
        return {"section": self.section, "quote": self.quote}


@dataclass(frozen=True)
class SourceRef:
    """Where a catalog entry's own text comes from.

    `kind == "article"`: the entry's text (a responsibility's `text`, a role's `summary`, a
    challenge's `description`) is the article's, and `quote` is a verbatim excerpt of it from
    `section`. `kind == "authored"`: the text is ours; `section` says what it is about and
    `elaborates`, when given, is the passage of the article it builds on.
    """

    kind: SourceKind
    section: str
    quote: str | None = None
    elaborates: Passage | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "section": self.section,
            "quote": self.quote,
            "elaborates": self.elaborates.as_dict() if self.elaborates else None,
        }


@dataclass(frozen=True)
class Condition:
    """When an entry applies: always when both sets are empty, otherwise when the project has
    any of `traits_any` or its application is one of `applications_any`."""

    traits_any: frozenset[str] = frozenset()
    applications_any: frozenset[str] = frozenset()

    @property
    def always(self) -> bool:
        return not self.traits_any and not self.applications_any

    def holds(self, application: str, traits: Iterable[str]) -> bool:
        return self.always or self.matches(application, traits) != ()

    def matches(self, application: str, traits: Iterable[str]) -> tuple[str, ...]:
        """The reasons this condition holds, as `trait:<name>` / `application:<key>` strings."""
        reasons = [f"trait:{t}" for t in sorted(self.traits_any & set(traits))]
        if application in self.applications_any:
            reasons.append(f"application:{application}")
        return tuple(reasons)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "traits_any": sorted(self.traits_any),
            "applications_any": sorted(self.applications_any),
        }


@dataclass(frozen=True)
class PriorityRule:
    """Raise a priority to at least `priority` when `when` holds."""

    when: Condition
    priority: str


@dataclass(frozen=True)
class Responsibility:
    """A task of a role: `text` as the source gives it (the article's words for the five key
    roles), and our guidance on doing it: `detail`, what "done" means, when in the lifecycle,
    and how urgent it is for a project that requires the role."""

    key: str
    role_key: str
    title: str
    text: str
    position: int
    source: SourceRef
    detail: str = ""
    done_when: str = ""
    phase: str = "plan-and-design"
    priority: str = "medium"
    # Done only with at least one evidence link (a document, a report, a record).
    evidence_required: bool = False


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    summary: str
    required: bool
    position: int
    source: SourceRef
    # Every skill, the article's first; `article_skills` are those the FAQ names, verbatim.
    skills: tuple[str, ...] = ()
    article_skills: tuple[str, ...] = ()
    responsibilities: tuple[Responsibility, ...] = ()
    # Besides `required`, the role becomes required for a project when this holds.
    required_when: Condition | None = None


@dataclass(frozen=True)
class Collaboration:
    """One row of the article's collaboration table."""

    key: str
    role_key: str
    collaborates_with: tuple[str, ...]
    outcomes: tuple[str, ...]
    position: int
    source: SourceRef


@dataclass(frozen=True)
class Mitigation:
    key: str
    challenge_key: str
    title: str
    detail: str
    owner_roles: tuple[str, ...]
    priority: str
    position: int
    source: SourceRef
    done_when: str = ""
    phase: str = "plan-and-design"
    # Why the base priority is what it is (required when it is critical): items say it.
    priority_because: str | None = None
    # Responsibilities that ask the same thing: where this mitigation applies, it is the one
    # item for both, and the responsibility's item is not generated.
    fulfils: tuple[str, ...] = ()
    # Done only with the sign-off of someone who does not own it and holds one of
    # `reviewer_roles` on the project; and only with evidence, when `evidence_required`.
    signoff_required: bool = False
    reviewer_roles: tuple[str, ...] = ()
    evidence_required: bool = False
    applies_when: Condition = field(default_factory=Condition)
    raised_when: tuple[PriorityRule, ...] = ()
    # NIST AI RMF 1.0 subcategories (`MEASURE 2.10`) and NIST AI 600-1 risks it addresses.
    nist: tuple[str, ...] = ()
    genai_risks: tuple[str, ...] = ()
    # Keys this mitigation had before (a checklist item under an old key hands its state over).
    replaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class Challenge:
    key: str
    title: str
    description: str
    position: int
    source: SourceRef
    mitigations: tuple[Mitigation, ...] = ()


@dataclass(frozen=True)
class Application:
    key: str
    title: str
    description: str
    position: int
    source: SourceRef
    # Roles that become required for projects of this application.
    requires_roles: tuple[str, ...] = ()
    # Minimum priority for every mitigation of a challenge: {challenge_key: priority}.
    raises: tuple[tuple[str, str], ...] = ()
    # Traits a project of this application has unless it says otherwise (sets them false).
    implies_traits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    version: str
    roles: tuple[Role, ...]
    collaborations: tuple[Collaboration, ...]
    challenges: tuple[Challenge, ...]
    applications: tuple[Application, ...]

    def role(self, key: str) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def application(self, key: str) -> Application | None:
        return next((a for a in self.applications if a.key == key), None)

    def challenge(self, key: str) -> Challenge | None:
        return next((c for c in self.challenges if c.key == key), None)

    @property
    def role_keys(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.roles)

    @property
    def application_keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.applications)
