"""Ownership findings, pure: what a governance lead raises about who owns and reviews the work
(items nobody owns, high and critical items resting on one person, a model's builder holding
its critical reviews), computed from the items the generator has already made."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Protocol

from app.services.catalog.model import priority_rank
from app.services.checklists.facts import Member, Staffing
from app.services.staffing.findings import SEPARATED_ROLES, StaffingFinding
from app.vocabulary import PHASES, FindingKind, Phase, Priority

# Ours (the catalog says nothing of who builds the model): the roles that build it, train it
# and tune it, so their holders should not be the ones who sign off what it produces.
BUILDER_ROLES: tuple[str, ...] = ("data-scientist", "machine-learning-engineer")

# A concentration finding needs at least this many high and critical items on the project: with
# fewer, "more than half" is one or two items, which a small project rightly gives one person.
CONCENTRATION_MIN_ITEMS = 4

_URGENT = frozenset({Priority.HIGH.value, Priority.CRITICAL.value})
# The phases after the model is built: a gate there reviews what the model produces.
_OUTPUT_PHASES = frozenset(PHASES[PHASES.index(Phase.BUILD_AND_USE_MODEL.value) + 1 :])


class OwnedItem(Protocol):
    """What the ownership findings need to know of a generated item (read only)."""

    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def phase(self) -> str: ...
    @property
    def roles(self) -> tuple[str, ...]: ...
    @property
    def owners(self) -> tuple[Member, ...]: ...
    @property
    def priority(self) -> str: ...
    @property
    def signoff_required(self) -> bool: ...
    @property
    def reviewer_roles(self) -> tuple[str, ...]: ...
    @property
    def reviewers(self) -> tuple[Member, ...]: ...


def ownership_findings(
    items: Sequence[OwnedItem],
    index: Staffing,
    titles: Mapping[str, str],
    could_own: Mapping[str, tuple[str, ...]],
    unfilled: Collection[str],
) -> list[StaffingFinding]:
    """The ownership findings of a project's work items (responsibilities, collaborations and
    mitigations). `could_own` maps an item key to the catalog roles that own it, whether or not
    the project has them (an item names only the roles the project has); `unfilled` are the
    required roles nobody holds."""
    return [
        *_unowned_findings(items, titles, could_own),
        *_concentration_findings(items, index, titles, unfilled),
        *_self_review_findings(items, index, titles),
    ]


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _unowned_findings(
    items: Iterable[OwnedItem], titles: Mapping[str, str], could_own: Mapping[str, tuple[str, ...]]
) -> Iterable[StaffingFinding]:
    order = {role: n for n, role in enumerate(titles)}
    # An item naming a role nobody holds names a required role (an item names only the roles
    # the project requires or staffs), whose unfilled-role finding already asks for it; what is
    # left are items whose every owning role the project neither has nor needs.
    unowned = [i for i in items if not i.owners and not i.roles and could_own.get(i.key)]
    waiting: dict[str, list[OwnedItem]] = {}
    # Each item waits for one role, so that no item is counted twice: the role that would give
    # the most of the remaining items an owner, the first in catalog order on a tie.
    while unowned:
        candidates = {r for i in unowned for r in could_own[i.key]}
        role = min(
            candidates,
            key=lambda r: (-sum(r in could_own[i.key] for i in unowned), order.get(r, 0), r),
        )
        waiting[role] = [i for i in unowned if role in could_own[i.key]]
        unowned = [i for i in unowned if role not in could_own[i.key]]
    for role in sorted(waiting, key=lambda r: (order.get(r, 0), r)):
        blocked = waiting[role]
        title = titles.get(role, role)
        urgent = [i for i in blocked if i.priority in _URGENT]
        names = "; ".join(i.title for i in blocked)
        count = _count(len(blocked), "item")
        # As urgent as the most urgent item waiting, but a staffing finding gates nothing
        # itself, so never critical (the rubric keeps critical for the gates).
        top = max((i.priority for i in blocked), key=priority_rank)
        if urgent:
            priority = Priority.HIGH.value
            why = (
                f"{len(urgent)} of them high or critical, so nobody answers for work that gates "
                "data collection or a release: high"
            )
        else:
            priority = top
            why = f"None of them is high or critical: {top}, as the most urgent of them"
        yield StaffingFinding(
            key=f"staffing.unowned.{role}",
            kind=FindingKind.UNOWNED_ITEMS.value,
            title=f"Nobody owns {count}: staff the role {title} or reassign its items",
            detail=(
                f"The catalog gives {'this item' if len(blocked) == 1 else 'these items'} to "
                f"{title}, which nobody on the project holds, and no role the project has owns "
                f"{'it' if len(blocked) == 1 else 'them'}: {names}. Staff the role {title} or "
                f"reassign its items: assign {title} to someone new or to someone already on "
                "the project."
            ),
            roles=(role,),
            people=(),
            priority=priority,
            because=(
                f"{count} that {title} would own {'waits' if len(blocked) == 1 else 'wait'} "
                "for an owner: " + "; ".join(f"{i.title} ({i.key}, {i.priority})" for i in blocked),
                f"Nobody on the project holds {title}, and the project does not require it",
                why,
            ),
            done_when=f"Someone on the project holds {title}, so that its items have an owner.",
        )


def _concentration_findings(
    items: Sequence[OwnedItem],
    index: Staffing,
    titles: Mapping[str, str],
    unfilled: Collection[str],
) -> Iterable[StaffingFinding]:
    urgent = [i for i in items if i.priority in _URGENT]
    if len(urgent) < CONCENTRATION_MIN_ITEMS:
        return
    # An item a second person also owns does not stop when one of them is away: what
    # concentrates is the items a person owns alone, and a second owner is the remedy.
    alone: dict[str, list[OwnedItem]] = {}
    for item in urgent:
        if len(item.owners) == 1:
            alone.setdefault(item.owners[0].ref, []).append(item)
    for ref, owned in alone.items():
        if 2 * len(owned) <= len(urgent):
            continue
        member = index.members[ref]
        critical = [i for i in owned if i.priority == Priority.CRITICAL.value]
        held = set(index.roles_by_ref.get(ref, ()))
        roles = tuple(dict.fromkeys(r for i in owned for r in i.roles if r in held))
        share = f"{len(owned)} of the project's {len(urgent)} high and critical items"
        missing = [titles.get(r, r) for r in unfilled]
        if critical and not missing:
            priority = Priority.HIGH.value
            why = (
                f"{_count(len(critical), 'critical item')} among them, so a milestone's gate "
                "rests on one person: high"
            )
        elif critical:
            # Staffing the required roles gives many of these items a second owner: their
            # findings (high) come first, and this one may go with them.
            priority = Priority.MEDIUM.value
            why = (
                f"Nobody holds {_and(missing)}, which the project requires: staffing "
                "them comes first and may give these items a second owner, so medium"
            )
        else:
            priority = Priority.MEDIUM.value
            why = "No critical item among them: medium"
        yield StaffingFinding(
            key=f"staffing.concentration.{ref}",
            kind=FindingKind.CONCENTRATION.value,
            title=f"{member.name} alone owns {share}",
            detail=(
                f"{member.name} is the only owner of {share}"
                + (f" ({len(critical)} critical)" if critical else "")
                + ": "
                + "; ".join(i.title for i in owned)
                + ". "
                "Spread ownership: name a second owner for some of them by assigning their roles "
                f"({', '.join(titles.get(r, r) for r in roles)}) to someone else as well."
            ),
            roles=roles,
            people=(member,),
            priority=priority,
            because=(
                f"{member.name} is the only owner of {share}, more than half",
                f"The project has {len(urgent)} high and critical items, at least "
                f"{CONCENTRATION_MIN_ITEMS}",
                why,
            ),
            done_when=(
                f"{member.name} is the only owner of at most half of the project's high and "
                "critical items."
            ),
        )


def _self_review_findings(
    items: Sequence[OwnedItem], index: Staffing, titles: Mapping[str, str]
) -> Iterable[StaffingFinding]:
    gates = [
        i
        for i in items
        if i.signoff_required
        and i.priority == Priority.CRITICAL.value
        and i.phase in _OUTPUT_PHASES
    ]
    if not gates:
        return
    for ref, held_roles in index.roles_by_ref.items():
        builds = [r for r in held_roles if r in BUILDER_ROLES]
        if not builds:
            continue
        # A reviewer role that checks a builder role the person holds already has its
        # separation-of-duties finding: this one names the other reviewer roles only.
        separated = {o for a, b in SEPARATED_ROLES for x, o in ((a, b), (b, a)) if x in builds}
        reviews: list[tuple[OwnedItem, tuple[str, ...]]] = []
        for gate in gates:
            if all(m.ref != ref for m in gate.reviewers):
                continue
            through = tuple(r for r in gate.reviewer_roles if r in held_roles)
            if through and all(r in separated for r in through):
                continue
            reviews.append((gate, through))
        if not reviews:
            continue
        member = index.members[ref]
        builder = " and ".join(titles.get(r, r) for r in builds)
        via = tuple(dict.fromkeys(r for _, through in reviews for r in through))
        via_titles = " and ".join(titles.get(r, r) for r in via)
        names = "; ".join(gate.title for gate, _ in reviews)
        yield StaffingFinding(
            key=f"staffing.builder-reviews-own-work.{ref}",
            kind=FindingKind.BUILDER_REVIEWS_OWN_WORK.value,
            title=f"{member.name} builds the model and reviews its output: name an independent "
            "reviewer",
            detail=(
                f"{member.name} holds {builder}, which builds the model, and as {via_titles} "
                f"can sign off the critical {'review' if len(reviews) == 1 else 'reviews'} of "
                f"its output: {names}. Name an independent reviewer: give {via_titles} to "
                "someone who does not build the model."
            ),
            roles=(*builds, *via),
            people=(member,),
            priority=Priority.HIGH.value,
            because=(
                f"{member.name} holds {builder}, a role that builds the model",
                *(
                    f"{member.name} can sign off {gate.title} ({gate.key}) as "
                    + " and ".join(titles.get(r, r) for r in through)
                    for gate, through in reviews
                ),
                "A critical review of the model's output must be independent of who built the "
                "model: high, the same as any staffing problem that blocks a review",
            ),
            done_when=(
                f"{member.name} no longer holds both a role that builds the model and a "
                "reviewer role of these critical reviews."
            ),
        )
