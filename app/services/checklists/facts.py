"""What the pure checklist engine knows of a project: its facts and traits (stated and implied),
its staffing indexed once, and which roles it requires. No database, no Flask."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.services.catalog.model import Application, Catalog, Role
from app.vocabulary import THIRD_PARTY_SOURCES, TRAINING_SOURCES, TRAITS, RiskClassification

# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Member:
    """A person as the engine sees them; `ref` is their stable id (person id or preview slug)."""

    ref: str
    name: str
    email: str | None = None
    handles: tuple[tuple[str, str], ...] = ()

    def as_owner(self) -> dict[str, Any]:
        """The owner object of a checklist item's JSON form."""
        return {
            "id": self.ref,
            "name": self.name,
            "email": self.email,
            "handles": dict(self.handles),
        }


@dataclass(frozen=True)
class StaffingEntry:
    """One assignment: a member in a role, with an optional allocation in percent."""

    member: Member
    role_key: str
    allocation: int | None = None
    lead: bool = False


@dataclass(frozen=True)
class ProjectFacts:
    """What the engine needs to know about a project: its application key, the traits it
    states it has (`traits`) and those it states it does not have (`declined`); any other
    trait is not stated, and the application's `implies_traits` decide it. `model_source`:
    where its model comes from (a `ModelSource`), None when it does not say. Of its context,
    the risk classification it states and where it is used (`jurisdictions`)."""

    application: str
    traits: frozenset[str] = frozenset()
    declined: frozenset[str] = frozenset()
    risk_classification: str = RiskClassification.UNCLASSIFIED.value
    jurisdictions: frozenset[str] = frozenset()
    model_source: str | None = None


def stated_facts(
    application: str,
    stated: Mapping[str, Any],
    risk_classification: str = RiskClassification.UNCLASSIFIED.value,
    jurisdictions: Iterable[str] = (),
) -> ProjectFacts:
    """The facts of a project from its traits as stated (`{trait: true | false | None}`,
    `model_source` among them): the boolean traits it has, those it declines, its model
    source."""
    return ProjectFacts(
        application,
        traits=frozenset(t for t in TRAITS if stated.get(t) is True),
        declined=frozenset(t for t in TRAITS if stated.get(t) is False),
        risk_classification=risk_classification,
        jurisdictions=frozenset(jurisdictions),
        model_source=stated.get("model_source"),
    )


def model_source_disagreement(traits: Mapping[str, object]) -> str | None:
    """Why stated `model_source` and `uses_third_party_models` contradict each other, or
    None when they do not (either unstated, or they agree)."""
    source, third_party = traits.get("model_source"), traits.get("uses_third_party_models")
    if source is None or third_party is None:
        return None
    if (source in THIRD_PARTY_SOURCES) == third_party:
        return None
    return (
        f"Contradicts model_source '{source}', which "
        + ("builds on" if source in THIRD_PARTY_SOURCES else "does not build on")
        + " a third party's model: leave it out (it follows from model_source) or change both."
    )


@dataclass(frozen=True)
class GeneratorSettings:
    max_roles_per_person: int = 2


DEFAULT_SETTINGS = GeneratorSettings()


# --------------------------------------------------------------------------- traits


@dataclass(frozen=True)
class Facts:
    """A project's facts with its traits resolved: `traits` hold (stated or implied), and
    `implied` are those that hold only because the application (or the model source) implies
    them; `implied_by` names what implies each."""

    application: str
    traits: frozenset[str]
    implied: frozenset[str]
    app: Application | None
    risk_classification: str = RiskClassification.UNCLASSIFIED.value
    jurisdictions: frozenset[str] = frozenset()
    model_source: str | None = None
    implied_by: Mapping[str, str] = field(default_factory=dict)

    @property
    def application_title(self) -> str:
        return self.app.title if self.app is not None else self.application

    @property
    def trains(self) -> bool:
        """Whether work that assumes training applies: the project trains or fine-tunes its
        model, or does not say where its model comes from (then it is kept, to be safe)."""
        return self.model_source is None or self.model_source in TRAINING_SOURCES

    def training_reason(self) -> str:
        """Why an item that assumes training is on the checklist."""
        if self.model_source is None:
            return (
                "The project does not state its model_source: work that assumes training is "
                "kept (state hosted-third-party to drop it)"
            )
        return f"Model source {self.model_source}: the project trains its model"

    def trait_reason(self, trait: str, effect: str) -> str:
        if trait in self.implied:
            by = self.implied_by.get(trait, self.application_title)
            return f"Project trait {trait} (implied by {by}) {effect}"
        return f"Project trait {trait} {effect}"

    def match_reason(self, match: str, effect: str) -> str:
        """Turn a Condition.matches() entry (`trait:x` / `application:y`) into a sentence."""
        kind, _, name = match.partition(":")
        if kind == "trait":
            return self.trait_reason(name, effect)
        return f"Application {self.application_title} {effect}"


def resolve(catalog: Catalog, project: ProjectFacts) -> Facts:
    """The traits that hold for a project: those it states, those its application implies,
    and `uses_third_party_models` when its model source builds on a third party's model,
    unless the project declined them."""
    application = catalog.application(project.application)
    by: dict[str, str] = {}
    if application is not None:
        by.update(dict.fromkeys(application.implies_traits, application.title))
    if project.model_source in THIRD_PARTY_SOURCES:
        by.setdefault("uses_third_party_models", f"model source {project.model_source}")
    implied_by = {
        trait: what
        for trait, what in by.items()
        if trait not in project.traits and trait not in project.declined
    }
    implied = frozenset(implied_by)
    return Facts(
        project.application,
        project.traits | implied,
        implied,
        application,
        project.risk_classification,
        project.jurisdictions,
        project.model_source,
        implied_by,
    )


def project_traits(catalog: Catalog, project: ProjectFacts) -> tuple[list[str], list[str]]:
    """(the traits that hold, those of them implied by the application), each sorted."""
    facts = resolve(catalog, project)
    return sorted(facts.traits), sorted(facts.implied)


# --------------------------------------------------------------------------- staffing index


@dataclass
class Staffing:
    """Staffing indexed once: role -> holders, member ref -> entries, for catalog roles only."""

    holders: dict[str, tuple[StaffingEntry, ...]]
    members_by_role: dict[str, tuple[Member, ...]]
    entries_by_ref: dict[str, list[StaffingEntry]]
    roles_by_ref: dict[str, tuple[str, ...]]
    members: dict[str, Member]

    def members_of(self, roles: Sequence[str]) -> tuple[Member, ...]:
        """Members holding any of `roles`, in the given role order, each once."""
        if len(roles) < 2:  # most items: a role's members are each there once already
            return self.members_by_role.get(roles[0], ()) if roles else ()
        seen: dict[str, Member] = {}
        for role in roles:
            for member in self.members_by_role.get(role, ()):
                seen.setdefault(member.ref, member)
        return tuple(seen.values())


def holder_order(entry: StaffingEntry) -> tuple[bool, str, str]:
    return (not entry.lead, entry.member.name.casefold(), entry.member.ref)


def index_staffing(catalog: Catalog, staffing: Iterable[StaffingEntry]) -> Staffing:
    """Index staffing in one pass; entries for roles the catalog lacks only count as allocation."""
    role_pos = {r.key: i for i, r in enumerate(roles_of(catalog))}
    by_role: dict[str, dict[str, StaffingEntry]] = defaultdict(dict)
    entries_by_ref: dict[str, list[StaffingEntry]] = defaultdict(list)
    members: dict[str, Member] = {}
    unknown = len(role_pos)

    def entry_order(entry: StaffingEntry) -> tuple[Any, ...]:
        # Total order, so that shuffled staffing yields the same indexes.
        role = (role_pos.get(entry.role_key, unknown), entry.role_key)
        member = (entry.member.email or "", entry.member.handles)
        return (*holder_order(entry), role, entry.allocation or 0, entry.lead, member)

    for entry in sorted(staffing, key=entry_order):
        ref = entry.member.ref
        members.setdefault(ref, entry.member)
        entries_by_ref[ref].append(entry)
        if entry.role_key in role_pos:
            # Sorted leads first, so a duplicate (member, role) keeps its lead entry.
            by_role[entry.role_key].setdefault(ref, entry)
    for entries in entries_by_ref.values():
        entries.sort(key=lambda e: (role_pos.get(e.role_key, unknown), e.role_key))
    holders = {role: tuple(entries.values()) for role, entries in by_role.items()}
    roles_by_ref: dict[str, list[str]] = defaultdict(list)
    for role in sorted(holders, key=role_pos.__getitem__):
        for entry in holders[role]:
            roles_by_ref[entry.member.ref].append(role)
    return Staffing(
        holders=holders,
        members_by_role={
            role: tuple(members[e.member.ref] for e in entries) for role, entries in holders.items()
        },
        entries_by_ref=dict(entries_by_ref),
        roles_by_ref={ref: tuple(roles) for ref, roles in roles_by_ref.items()},
        members=members,
    )


def roles_of(catalog: Catalog) -> list[Role]:
    return sorted(catalog.roles, key=lambda r: r.position)


def role_titles(catalog: Catalog) -> dict[str, str]:
    """Role key -> title, in catalog role order."""
    return {r.key: r.title for r in roles_of(catalog)}


# --------------------------------------------------------------------------- required roles


def required_roles(catalog: Catalog, project: ProjectFacts) -> dict[str, tuple[str, ...]]:
    """Role key -> the human-readable reasons it is required, in catalog role order."""
    return required_by(catalog, resolve(catalog, project))


def required_by(catalog: Catalog, facts: Facts) -> dict[str, tuple[str, ...]]:
    reasons: dict[str, tuple[str, ...]] = {}
    for role in roles_of(catalog):
        why = _role_required_because(role, facts)
        if why:
            reasons[role.key] = tuple(why)
    return reasons


def _role_required_because(role: Role, facts: Facts) -> list[str]:
    why: list[str] = []
    if role.required:
        why.append(f"{role.title} is required on every project")
    requires = f"Application {facts.application_title} requires {role.title}"
    if role.required_when is not None:
        for match in role.required_when.matches(facts.application, facts.traits):
            if match.startswith("trait:"):
                why.append(facts.match_reason(match, f"makes {role.title} required"))
            else:
                why.append(requires)
    if facts.app is not None and role.key in facts.app.requires_roles:
        why.append(requires)
    if facts.risk_classification in role.required_when_classified:
        why.append(
            f"Project context: risk classification {facts.risk_classification} makes "
            f"{role.title} required"
        )
    # An application can both match `required_when` and list the role: say it once.
    return list(dict.fromkeys(why))


def in_play_because(role: Role, required: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return required.get(role.key) or (f"{role.title} is staffed on this project",)
