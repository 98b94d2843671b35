"""The catalog's in-memory shape: immutable dataclasses shared by the seed loader, the database
mapping and the pure checklist generator."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import Any

from app.vocabulary import PRIORITIES, SourceKind, WaiverApprover


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
        # What `matches` finds, without the reasons: the generator asks it of every entry.
        if application in self.applications_any:
            return True
        return self.always or not self.traits_any.isdisjoint(traits)

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
    # A release gate: asked again for each release, or when the model changes (`Repeats`).
    repeats: str | None = None
    # Asks for training or fine-tuning: only for a project whose model source trains.
    assumes_training: bool = False
    # NIST AI RMF 1.0 subcategories the responsibility serves, where one clearly fits.
    nist: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    key: str
    title: str
    summary: str
    required: bool
    position: int
    source: SourceRef
    # Every skill, ours (the article names none for a role); `article_skills` stays empty.
    skills: tuple[str, ...] = ()
    article_skills: tuple[str, ...] = ()
    responsibilities: tuple[Responsibility, ...] = ()
    # Besides `required`, the role becomes required for a project when this holds, or when
    # the project classifies its risk as one of `required_when_classified`.
    required_when: Condition | None = None
    required_when_classified: tuple[str, ...] = ()
    # NIST AI RMF 1.0 subcategories that call for the role (the governance roles, ours).
    nist: tuple[str, ...] = ()


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
    # A release gate: asked again for each release, or when the model changes (`Repeats`).
    repeats: str | None = None
    # Asks for training or fine-tuning: only for a project whose model source trains.
    assumes_training: bool = False
    # The item where the pairs of the article's collaboration table that the project has agree
    # what each hands the other (one ownership item, not one vague item a pair).
    agrees_collaborations: bool = False


@dataclass(frozen=True)
class Challenge:
    key: str
    title: str
    description: str
    position: int
    source: SourceRef
    mitigations: tuple[Mitigation, ...] = ()

    # Each item of the challenge names it: computed once (the catalog is immutable).
    @cached_property
    def future_direction(self) -> bool:
        """The article names it among its future directions, not among its challenges
        (Explainability): items say so rather than call it one of the article's challenges."""
        return self.source.kind == "article" and self.source.section.startswith("Future Directions")

    @cached_property
    def named(self) -> str:
        """The title as items name it: a future direction says so."""
        if self.future_direction:
            return f"{self.title} (a future direction in the article)"
        return self.title


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
class TraitValue:
    """One value a trait can take (`model_source`'s), and what it means."""

    key: str
    definition: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "definition": self.definition}


@dataclass(frozen=True)
class Trait:
    """A trait a project states, defined (ours): true or false, or one of `values` when it
    has them (`model_source`)."""

    key: str
    title: str
    definition: str
    position: int
    source: SourceRef
    values: tuple[TraitValue, ...] = ()


@dataclass(frozen=True)
class RiskRule:
    """When one of the twelve NIST AI 600-1 risks applies to a project (ours): always, or only
    when `applies_when` holds; `rule` says so in words, and a checklist's risk register quotes
    it as the reason a risk does not apply. One entry a risk, in the profile's order."""

    key: str
    risk: str
    rule: str
    position: int
    source: SourceRef
    applies_when: Condition = field(default_factory=Condition)


@dataclass(frozen=True)
class Pack:
    """A domain pack (ours): the mitigations a field of work brings (clinical, code, synthetic
    media, advertising), named together. It applies when `applies_when` holds, and each of its
    `items` (mitigation keys) applies to every project it applies to: a pack adds no item of
    its own, it says which items come with the domain."""

    key: str
    title: str
    description: str
    applies_when: Condition
    items: tuple[str, ...]
    position: int
    source: SourceRef


@dataclass(frozen=True)
class ContextCondition:
    """When a context item applies: the project's risk classification is one of
    `risk_classifications` (when given) and the project is used in any of `jurisdictions_any`
    (when given). A condition gives at least one of them."""

    risk_classifications: frozenset[str] = frozenset()
    jurisdictions_any: frozenset[str] = frozenset()

    def matches(self, risk_classification: str, jurisdictions: Iterable[str]) -> tuple[str, ...]:
        """Why it holds, as `risk_classification:<tier>` / `jurisdiction:<code>` strings; empty
        when it does not hold."""
        reasons: list[str] = []
        if self.risk_classifications:
            if risk_classification not in self.risk_classifications:
                return ()
            reasons.append(f"risk_classification:{risk_classification}")
        if self.jurisdictions_any:
            found = sorted(self.jurisdictions_any & set(jurisdictions))
            if not found:
                return ()
            reasons += [f"jurisdiction:{code}" for code in found]
        return tuple(reasons)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "risk_classifications": sorted(self.risk_classifications),
            "jurisdictions_any": sorted(self.jurisdictions_any),
        }


@dataclass(frozen=True)
class ContextItem:
    """What a project's context asks of it (ours): an item that applies when the project's
    stated context holds `applies_when` (its risk classification, where it is used)."""

    key: str
    title: str
    detail: str
    done_when: str
    phase: str
    owner_roles: tuple[str, ...]
    priority: str
    position: int
    source: SourceRef
    applies_when: ContextCondition
    priority_because: str | None = None
    signoff_required: bool = False
    reviewer_roles: tuple[str, ...] = ()
    evidence_required: bool = False
    # The articles of the EU AI Act (Regulation (EU) 2024/1689) the item answers, as the
    # Regulation numbers them: `Art. 9`, `Art. 26(6)` (an article, or one paragraph of it).
    eu_ai_act: tuple[str, ...] = ()


@dataclass(frozen=True)
class WaiverRule:
    """What a waiver of an item of `priority` needs: an approver (`approver`), an expiry at
    most `max_days` ahead, a reason of `reason_min_chars`, and the residual risk it accepts
    where `residual_risk_required` (of `residual_risk_min_chars`)."""

    priority: str
    approver: WaiverApprover
    max_days: int
    reason_min_chars: int
    residual_risk_required: bool
    residual_risk_min_chars: int | None = None

    @property
    def waiver_of(self) -> str:
        """`a high item's waiver`: how the policy's messages name what they rule."""
        article = "an" if self.priority[:1] in "aeiou" else "a"
        return f"{article} {self.priority} item's waiver"

    def latest_expiry(self, today: date) -> date:
        return today + timedelta(days=self.max_days)

    def as_dict(self) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "approver": str(self.approver),
            "max_days": self.max_days,
            "reason_min_chars": self.reason_min_chars,
            "residual_risk_required": self.residual_risk_required,
            "residual_risk_min_chars": self.residual_risk_min_chars,
        }


@dataclass(frozen=True)
class NeverWaived:
    """An item the waiver policy never lets be waived, and why."""

    key: str
    because: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "because": self.because}


@dataclass(frozen=True)
class WaiverPolicy:
    """The waiver policy (ours): a rule per item priority, who accepts risks (the accountable
    roles: they approve the waivers of critical items, and of items naming no reviewer), and
    the items never waived. One entry of the catalog, under a fixed key."""

    source: SourceRef
    accountable_roles: tuple[str, ...]
    rules: tuple[WaiverRule, ...]
    never_waived: tuple[NeverWaived, ...] = ()
    key: str = "waiver-policy"
    position: int = 0

    def rule_for(self, priority: str) -> WaiverRule:
        """The rule of an item's priority (an unknown one is held to the strictest)."""
        ranked = sorted(self.rules, key=lambda r: priority_rank(r.priority), reverse=True)
        return next((r for r in ranked if r.priority == priority), ranked[0])

    def approver_roles(self, rule: WaiverRule) -> tuple[str, ...]:
        """The roles the approver under `rule` must hold; empty: the item's reviewer roles."""
        return self.accountable_roles if rule.approver == WaiverApprover.ACCOUNTABLE_ROLE else ()

    def never_waived_because(self, key: str) -> str | None:
        """Why the item `key` is never waived; None when it may be."""
        return next((n.because for n in self.never_waived if n.key == key), None)


@dataclass(frozen=True)
class Catalog:
    version: str
    roles: tuple[Role, ...]
    collaborations: tuple[Collaboration, ...]
    challenges: tuple[Challenge, ...]
    applications: tuple[Application, ...]
    context_items: tuple[ContextItem, ...] = ()
    traits: tuple[Trait, ...] = ()
    # When each NIST AI 600-1 risk applies (the risk register's rules), in the profile's order.
    risk_rules: tuple[RiskRule, ...] = ()
    # The domain packs: the mitigations each field of work brings, named together.
    packs: tuple[Pack, ...] = ()
    # None only for a catalog built without one (the generator's tests): every catalog
    # loaded from `seed/` has one, and the rules that need it say so (503) otherwise.
    waiver_policy: WaiverPolicy | None = None

    def role(self, key: str) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def application(self, key: str) -> Application | None:
        return next((a for a in self.applications if a.key == key), None)

    def challenge(self, key: str) -> Challenge | None:
        return next((c for c in self.challenges if c.key == key), None)

    @property
    def role_keys(self) -> tuple[str, ...]:
        return tuple(r.key for r in self.roles)

    # The catalog is immutable: what is derived from it alone is computed once per catalog
    # (`cached_property` keeps it in the instance's dict, beside the frozen fields).
    @cached_property
    def governance_roles(self) -> frozenset[str]:
        """The governance roles: ours (`authored`), beyond the article's, each answering for
        one kind of review (privacy, security, the domain, the decision to ship)."""
        return frozenset(r.key for r in self.roles if r.source.kind == SourceKind.AUTHORED)

    @cached_property
    def mitigations_in_order(self) -> tuple[tuple[Challenge, tuple[Mitigation, ...]], ...]:
        """The challenges in catalog order, each with its mitigations in order."""
        return tuple(
            (challenge, tuple(sorted(challenge.mitigations, key=lambda m: m.position)))
            for challenge in sorted(self.challenges, key=lambda c: c.position)
        )

    @cached_property
    def responsibilities_by_key(self) -> Mapping[str, tuple[Role, Responsibility]]:
        """Each responsibility's key -> its role and itself (read-only: it is shared)."""
        return MappingProxyType(
            {r.key: (role, r) for role in self.roles for r in role.responsibilities}
        )

    def route(self, roles: Sequence[str], playing: Collection[str]) -> tuple[str, ...]:
        """Who of `roles` (a reviewer or approver list, in the catalog's order) may act on a
        project that has (requires or staffs) the roles `playing`. A review routed to a
        governance role is that role's alone when the project has it: the article's roles
        listed after it stand in only where the project's context does not call for it (and
        nobody holds it). A list of governance roles alone stays as it is: an unfilled role's
        finding says who is missing."""
        if not roles:  # most entries name no reviewer
            return ()
        governance = self.governance_roles
        called = tuple(r for r in roles if r in governance and r in playing)
        if called:
            return called
        return tuple(r for r in roles if r not in governance) or tuple(roles)

    @property
    def application_keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.applications)
