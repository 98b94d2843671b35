"""Staffing findings, pure: role coverage of a project and what is wrong with its staffing
(unfilled roles, roles that should check each other in one person, too many roles, over-
allocation, no lead, items nobody independent can sign off), and over-allocation team-wide."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Protocol

from app.services.catalog.model import Catalog, priority_rank
from app.services.checklists.facts import (
    GeneratorSettings,
    Member,
    Staffing,
    StaffingEntry,
    role_titles,
    roles_of,
)
from app.vocabulary import FindingKind, values

FINDING_KINDS: tuple[str, ...] = values(FindingKind)
MAX_ALLOCATION = 100

# Pairs of roles that check each other's work, so one person should not hold both: the ethicist
# reviews the data (bias, privacy), the models and the curated content; the product manager
# accepts residual risks (approves waivers) that the ethicist must be free to challenge.
SEPARATED_ROLES: tuple[tuple[str, str], ...] = (
    ("data-scientist", "ai-ethicist"),
    ("machine-learning-engineer", "ai-ethicist"),
    ("content-curator", "ai-ethicist"),
    ("ai-ethicist", "product-manager"),
)
_WHY_SEPARATED: Mapping[frozenset[str], str] = MappingProxyType(
    {
        frozenset({"ai-ethicist", "product-manager"}): (
            "the product manager accepts residual risks that the ethicist must be free to "
            "challenge, so one person would accept risks alone"
        ),
    }
)

NO_ALLOCATION_ELSEWHERE: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True)
class RoleCoverage:
    """Who holds a catalog role on the project and whether the project needs it."""

    role_key: str
    title: str
    required: bool
    required_because: tuple[str, ...]
    holders: tuple[StaffingEntry, ...]


@dataclass(frozen=True)
class StaffingFinding:
    key: str
    kind: str
    title: str
    detail: str
    roles: tuple[str, ...]
    people: tuple[Member, ...]
    priority: str
    because: tuple[str, ...]
    done_when: str = ""


@dataclass(frozen=True)
class StaffingReport:
    roles: tuple[RoleCoverage, ...]
    findings: tuple[StaffingFinding, ...]


@dataclass(frozen=True)
class OverAllocation:
    """A member allocated over 100% across projects, with the per-project breakdown."""

    member: Member
    total: int
    breakdown: tuple[tuple[str, int], ...]


def report(
    catalog: Catalog,
    index: Staffing,
    required: Mapping[str, tuple[str, ...]],
    allocation_elsewhere: Mapping[str, int],
    settings: GeneratorSettings,
) -> StaffingReport:
    coverage = tuple(
        RoleCoverage(
            role_key=role.key,
            title=role.title,
            required=role.key in required,
            required_because=required.get(role.key, ()),
            holders=index.holders.get(role.key, ()),
        )
        for role in roles_of(catalog)
    )
    titles = role_titles(catalog)
    findings = [
        *_unfilled_findings(coverage),
        *_separation_findings(index, titles),
        *_too_many_roles_findings(index, titles, settings.max_roles_per_person),
        *_over_allocation_findings(index, titles, allocation_elsewhere),
        *_no_lead_findings(coverage),
    ]
    findings.sort(key=lambda f: (-priority_rank(f.priority), f.key))
    return StaffingReport(roles=coverage, findings=tuple(findings))


def _unfilled_findings(coverage: Iterable[RoleCoverage]) -> Iterable[StaffingFinding]:
    for role in coverage:
        if role.required and not role.holders:
            yield StaffingFinding(
                key=f"staffing.unfilled.{role.role_key}",
                kind="unfilled_role",
                title=f"Staff the {role.title} role",
                detail=(
                    f"No one holds {role.title}, which this project requires: "
                    + "; ".join(role.required_because)
                    + "."
                ),
                roles=(role.role_key,),
                people=(),
                priority="high",
                because=(f"No one is assigned to {role.title}", *role.required_because),
                done_when=(
                    f"Someone is assigned to {role.title}; the finding then no longer applies "
                    "and the item becomes obsolete by itself."
                ),
            )


def _separation_findings(index: Staffing, titles: Mapping[str, str]) -> Iterable[StaffingFinding]:
    order = list(titles)
    for ref, roles in index.roles_by_ref.items():
        held = set(roles)
        for pair in SEPARATED_ROLES:
            if not set(pair) <= held:
                continue
            a, b = sorted(pair, key=order.index)
            member = index.members[ref]
            why = _WHY_SEPARATED.get(
                frozenset(pair), f"{titles[a]} and {titles[b]} check each other's work"
            )
            yield StaffingFinding(
                key=f"staffing.separation-of-duties.{ref}.{a}.{b}",
                kind="separation_of_duties",
                title=f"{member.name} should not be both {titles[a]} and {titles[b]}",
                detail=(
                    f"{why[0].upper()}{why[1:]}; give one of the two roles to someone else so "
                    f"that {member.name} does not review their own work."
                ),
                roles=(a, b),
                people=(member,),
                priority="high",
                because=(
                    f"{member.name} holds {titles[a]} and {titles[b]}",
                    f"{titles[a]} and {titles[b]} are roles that check each other",
                ),
                done_when=f"{titles[a]} and {titles[b]} are held by different people.",
            )


def _too_many_roles_findings(
    index: Staffing, titles: Mapping[str, str], limit: int
) -> Iterable[StaffingFinding]:
    for ref, roles in index.roles_by_ref.items():
        if len(roles) <= limit:
            continue
        member = index.members[ref]
        names = ", ".join(titles[r] for r in roles)
        yield StaffingFinding(
            key=f"staffing.too-many-roles.{ref}",
            kind="too_many_roles",
            title=f"{member.name} holds {len(roles)} roles",
            detail=(
                f"{member.name} holds {len(roles)} roles on this project ({names}); "
                f"the limit is {limit}. Spread the roles over more people."
            ),
            roles=roles,
            people=(member,),
            priority="medium",
            because=(
                f"{member.name} holds {names}",
                f"At most {limit} roles per person",
            ),
            done_when=f"{member.name} holds at most {limit} roles on the project.",
        )


def over_allocation_key(ref: str) -> str:
    """The key of a member's over-allocation finding: the one finding that depends on the
    member's allocation on other projects."""
    return f"staffing.over-allocated.{ref}"


def _over_allocation_findings(
    index: Staffing, titles: Mapping[str, str], elsewhere: Mapping[str, int]
) -> Iterable[StaffingFinding]:
    for ref, entries in index.entries_by_ref.items():
        here = sum(e.allocation or 0 for e in entries)
        other = elsewhere.get(ref, 0) or 0
        total = here + other
        if total <= MAX_ALLOCATION:
            continue
        member = index.members[ref]
        parts = ", ".join(
            f"{titles.get(e.role_key, e.role_key)} {e.allocation or 0}%" for e in entries
        )
        detail = f"{member.name} is allocated {total}%: {here}% on this project ({parts})"
        detail += f" and {other}% on other active projects." if other else "."
        roles = tuple(dict.fromkeys(e.role_key for e in entries if e.role_key in titles))
        yield StaffingFinding(
            key=over_allocation_key(ref),
            kind="over_allocated",
            title=f"{member.name} is allocated {total}%",
            detail=detail,
            roles=roles,
            people=(member,),
            priority="high",
            because=(f"{member.name} is allocated {total}%, more than {MAX_ALLOCATION}%",),
            done_when=(
                f"{member.name}'s allocations across active projects add up to "
                f"{MAX_ALLOCATION}% or less."
            ),
        )


def _no_lead_findings(coverage: Iterable[RoleCoverage]) -> Iterable[StaffingFinding]:
    for role in coverage:
        if len(role.holders) < 2 or any(e.lead for e in role.holders):
            continue
        people = tuple(e.member for e in role.holders)
        yield StaffingFinding(
            key=f"staffing.no-lead.{role.role_key}",
            kind="no_lead",
            title=f"Name a lead for {role.title}",
            detail=(
                f"{len(people)} people hold {role.title} and none of them is the lead: "
                + ", ".join(m.name for m in people)
                + "."
            ),
            roles=(role.role_key,),
            people=people,
            priority="low",
            because=(f"{len(people)} people hold {role.title} without a lead",),
            done_when=f"One of the people holding {role.title} is its lead.",
        )


def overallocated_members(
    allocations: Iterable[tuple[Member, str, int | None]],
) -> list[OverAllocation]:
    """Team-wide: members whose allocations (member, project label, percent) exceed 100%.

    Sorted by total descending, then name and ref; each breakdown sums a member's entries per
    project and lists projects by allocation descending, then label.
    """
    per_project: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    members: dict[str, Member] = {}
    for member, project, allocation in allocations:
        members.setdefault(member.ref, member)
        per_project[member.ref][project] += allocation or 0
    result = []
    for ref, projects in per_project.items():
        total = sum(projects.values())
        if total > MAX_ALLOCATION:
            breakdown = sorted(projects.items(), key=lambda p: (-p[1], p[0]))
            result.append(OverAllocation(members[ref], total, tuple(breakdown)))
    result.sort(key=lambda o: (-o.total, o.member.name.casefold(), o.member.ref))
    return result


class SignedItem(Protocol):
    """What the reviewer finding needs to know of an item (read only: the generator's items
    are frozen)."""

    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def owners(self) -> tuple[Member, ...]: ...
    @property
    def signoff_required(self) -> bool: ...
    @property
    def reviewer_roles(self) -> tuple[str, ...]: ...


def with_reviewer_findings(
    findings: Sequence[StaffingFinding],
    items: Iterable[SignedItem],
    index: Staffing,
    titles: Mapping[str, str],
) -> list[StaffingFinding]:
    """`findings` and the items that need an independent sign-off nobody staffed can give (no
    one holds a reviewer role, or only people who own the item do), grouped by the role whose
    staffing would fix it: a reviewer role nobody holds, else the item's first reviewer role.
    Where that role is an unfilled required one, its finding says which items wait for it
    rather than a second finding asking the same."""
    stuck: dict[str, list[SignedItem]] = {}
    for item in items:
        if not item.signoff_required:
            continue
        owners = {m.ref for m in item.owners}
        if any(m.ref not in owners for m in index.members_of(item.reviewer_roles)):
            continue
        unheld = [r for r in item.reviewer_roles if not index.members_by_role.get(r)]
        fix = (unheld or list(item.reviewer_roles))[0]
        stuck.setdefault(fix, []).append(item)
    result = list(findings)
    unfilled = {f.roles[0]: n for n, f in enumerate(result) if f.kind == "unfilled_role"}
    for role, blocked in stuck.items():
        names = "; ".join(item.title for item in blocked)
        because = tuple(
            f"{item.title} ({item.key}) needs a sign-off by "
            + " or ".join(titles.get(r, r) for r in item.reviewer_roles)
            + ", and nobody who holds it is independent of the item"
            for item in blocked
        )
        at = unfilled.get(role)
        if at is not None:
            finding = result[at]
            result[at] = replace(
                finding,
                detail=f"{finding.detail} Until then nobody can sign off: {names}.",
                because=(*finding.because, *because),
            )
        else:
            result.append(_reviewer_finding(role, blocked, names, because, titles))
    return result


def _reviewer_finding(
    role: str,
    items: Sequence[SignedItem],
    names: str,
    because: tuple[str, ...],
    titles: Mapping[str, str],
) -> StaffingFinding:
    title = titles.get(role, role)
    one = len(items) == 1
    count, them = ("1 item", "it") if one else (f"{len(items)} items", "them")
    return StaffingFinding(
        key=f"staffing.no-independent-reviewer.{role}",
        kind="no_reviewer",
        title=f"Nobody can sign off {count}: staff {_a(title)} who does not own {them}",
        detail=(
            f"{'This item is' if one else 'These items are'} done only with the sign-off of "
            f"someone who does not own {them} and holds a reviewer role, and nobody staffed "
            f"can give it: {names}. Staff {_a(title)} who does not own {them}."
        ),
        roles=(role,),
        people=(),
        priority="high",
        because=because,
        done_when=(
            f"Someone who does not own {'the item' if one else 'these items'} holds {title} "
            "on the project."
        ),
    )


def _a(title: str) -> str:
    return ("an " if title[:1] in "AEIOU" else "a ") + title
