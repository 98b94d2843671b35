"""Staffing findings, pure: role coverage of a project and what is wrong with its staffing
(unfilled roles, roles that should check each other in one person, too many roles, over-
allocation, no lead), and over-allocation team-wide."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.catalog import Catalog, priority_rank
from app.services.checklist_facts import (
    DEFAULT_SETTINGS,
    GeneratorSettings,
    Member,
    ProjectFacts,
    Staffing,
    StaffingEntry,
    index_staffing,
    required_roles,
    role_titles,
    roles_of,
)

FINDING_KINDS: tuple[str, ...] = (
    "unfilled_role",
    "separation_of_duties",
    "too_many_roles",
    "over_allocated",
    "no_lead",
)
MAX_ALLOCATION = 100

# Pairs of roles that check each other's work, so one person should not hold both: the ethicist
# reviews the data (bias, privacy), the models and the curated content.
SEPARATED_ROLES: tuple[tuple[str, str], ...] = (
    ("data-scientist", "ai-ethicist"),
    ("machine-learning-engineer", "ai-ethicist"),
    ("content-curator", "ai-ethicist"),
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


def staffing_report(
    catalog: Catalog,
    project: ProjectFacts,
    staffing: Iterable[StaffingEntry],
    *,
    allocation_elsewhere: Mapping[str, int] = NO_ALLOCATION_ELSEWHERE,
    settings: GeneratorSettings = DEFAULT_SETTINGS,
) -> StaffingReport:
    """Role coverage for every catalog role and the staffing findings, most urgent first.

    `allocation_elsewhere` maps a member ref to their allocation on the team's other active
    projects; it feeds the over-allocation finding.
    """
    index = index_staffing(catalog, staffing)
    required = required_roles(catalog, project)
    return report(catalog, index, required, allocation_elsewhere, settings)


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
            yield StaffingFinding(
                key=f"staffing.separation-of-duties.{ref}.{a}.{b}",
                kind="separation_of_duties",
                title=f"{member.name} should not be both {titles[a]} and {titles[b]}",
                detail=(
                    f"{titles[a]} and {titles[b]} check each other's work; give one of the two "
                    f"roles to someone else so that {member.name} does not review their own work."
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
            key=f"staffing.over-allocated.{ref}",
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
