"""The pure checklist engine: (catalog, project facts, staffing) -> staffing report and items.

No database, no Flask, no I/O. The stored checklist and the preview both call it, so every rule
about what a project must do lives here and nowhere else.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.catalog import (
    Application,
    Catalog,
    Challenge,
    Collaboration,
    Mitigation,
    Role,
    max_priority,
    priority_rank,
)

KINDS: tuple[str, ...] = ("responsibility", "collaboration", "mitigation", "staffing")
STATUSES: tuple[str, ...] = ("open", "in_progress", "done", "waived", "obsolete")
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

_NO_ALLOCATION_ELSEWHERE: Mapping[str, int] = MappingProxyType({})
_STAFFING_SOURCE = {"kind": "authored", "section": "Staffing findings", "quote": None}


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
    """What the engine needs to know about a project: its application key and traits."""

    application: str
    traits: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GeneratorSettings:
    max_roles_per_person: int = 2


_DEFAULT_SETTINGS = GeneratorSettings()


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class GeneratedItem:
    """One checklist item as generated; persistence adds id, status, note, waiver and ticket."""

    key: str
    kind: str
    title: str
    detail: str
    roles: tuple[str, ...]
    owners: tuple[Member, ...]
    priority: str
    because: tuple[str, ...]
    source: dict[str, Any] = field(hash=False, compare=True)

    def as_dict(self) -> dict[str, Any]:
        """The generated fields in the checklist item's JSON shape (no role titles, no status)."""
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "detail": self.detail,
            "roles": list(self.roles),
            "owners": [m.as_owner() for m in self.owners],
            "priority": self.priority,
            "because": list(self.because),
            "source": dict(self.source),
        }


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


# --------------------------------------------------------------------------- indexes


@dataclass
class _Staffing:
    """Staffing indexed once: role -> holders, member ref -> entries, for catalog roles only."""

    holders: dict[str, tuple[StaffingEntry, ...]]
    members_by_role: dict[str, tuple[Member, ...]]
    entries_by_ref: dict[str, list[StaffingEntry]]
    roles_by_ref: dict[str, tuple[str, ...]]
    members: dict[str, Member]


def _holder_order(entry: StaffingEntry) -> tuple[bool, str, str]:
    return (not entry.lead, entry.member.name.casefold(), entry.member.ref)


def _index_staffing(catalog: Catalog, staffing: Iterable[StaffingEntry]) -> _Staffing:
    """Index staffing in one pass; entries for roles the catalog lacks only count as allocation."""
    role_pos = {r.key: i for i, r in enumerate(_roles(catalog))}
    by_role: dict[str, dict[str, StaffingEntry]] = defaultdict(dict)
    entries_by_ref: dict[str, list[StaffingEntry]] = defaultdict(list)
    members: dict[str, Member] = {}
    unknown = len(role_pos)

    def entry_order(entry: StaffingEntry) -> tuple[Any, ...]:
        # Total order, so that shuffled staffing yields the same indexes.
        role = (role_pos.get(entry.role_key, unknown), entry.role_key)
        member = (entry.member.email or "", entry.member.handles)
        return (*_holder_order(entry), role, entry.allocation or 0, entry.lead, member)

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
    return _Staffing(
        holders=holders,
        members_by_role={
            role: tuple(members[e.member.ref] for e in entries) for role, entries in holders.items()
        },
        entries_by_ref=dict(entries_by_ref),
        roles_by_ref={ref: tuple(roles) for ref, roles in roles_by_ref.items()},
        members=members,
    )


def _roles(catalog: Catalog) -> list[Role]:
    return sorted(catalog.roles, key=lambda r: r.position)


def _titles(catalog: Catalog) -> dict[str, str]:
    """Role key -> title, in catalog role order."""
    return {r.key: r.title for r in _roles(catalog)}


def _members_of(index: _Staffing, roles: Iterable[str]) -> tuple[Member, ...]:
    """Members holding any of `roles`, in the given role order, each once."""
    seen: dict[str, Member] = {}
    for role in roles:
        for member in index.members_by_role.get(role, ()):
            seen.setdefault(member.ref, member)
    return tuple(seen.values())


# --------------------------------------------------------------------------- required roles


def required_roles(catalog: Catalog, project: ProjectFacts) -> dict[str, tuple[str, ...]]:
    """Role key -> the human-readable reasons it is required, in catalog role order."""
    application = catalog.application(project.application)
    reasons: dict[str, list[str]] = {}
    for role in _roles(catalog):
        why = _role_required_because(role, application, project)
        if why:
            reasons[role.key] = why
    return {key: tuple(why) for key, why in reasons.items()}


def _role_required_because(
    role: Role, application: Application | None, project: ProjectFacts
) -> list[str]:
    why: list[str] = []
    if role.required:
        why.append(f"{role.title} is required on every project")
    if role.required_when is not None:
        for match in role.required_when.matches(project.application, project.traits):
            if match.startswith("trait:"):
                why.append(_match_reason(match, application, f"makes {role.title} required"))
            else:
                why.append(_application_requires(application, project, role))
    if application is not None and role.key in application.requires_roles:
        why.append(_application_requires(application, project, role))
    # An application can both match `required_when` and list the role: say it once.
    return list(dict.fromkeys(why))


def _application_requires(
    application: Application | None, project: ProjectFacts, role: Role
) -> str:
    title = application.title if application is not None else project.application
    return f"Application {title} requires {role.title}"


def _match_reason(match: str, application: Application | None, effect: str) -> str:
    """Turn a Condition.matches() entry (`trait:x` / `application:y`) into a sentence."""
    kind, _, name = match.partition(":")
    if kind == "trait":
        return f"Project trait {name} {effect}"
    title = application.title if application is not None else name
    return f"Application {title} {effect}"


# --------------------------------------------------------------------------- staffing report


def staffing_report(
    catalog: Catalog,
    project: ProjectFacts,
    staffing: Iterable[StaffingEntry],
    *,
    allocation_elsewhere: Mapping[str, int] = _NO_ALLOCATION_ELSEWHERE,
    settings: GeneratorSettings = _DEFAULT_SETTINGS,
) -> StaffingReport:
    """Role coverage for every catalog role and the staffing findings, most urgent first.

    `allocation_elsewhere` maps a member ref to their allocation on the team's other active
    projects; it feeds the over-allocation finding.
    """
    index = _index_staffing(catalog, staffing)
    required = required_roles(catalog, project)
    return _report(catalog, index, required, allocation_elsewhere, settings)


def _report(
    catalog: Catalog,
    index: _Staffing,
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
        for role in _roles(catalog)
    )
    titles = _titles(catalog)
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
            )


def _separation_findings(index: _Staffing, titles: Mapping[str, str]) -> Iterable[StaffingFinding]:
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
            )


def _too_many_roles_findings(
    index: _Staffing, titles: Mapping[str, str], limit: int
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
        )


def _over_allocation_findings(
    index: _Staffing, titles: Mapping[str, str], elsewhere: Mapping[str, int]
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


# --------------------------------------------------------------------------- checklist


def generate_checklist(
    catalog: Catalog,
    project: ProjectFacts,
    staffing: Iterable[StaffingEntry],
    *,
    allocation_elsewhere: Mapping[str, int] = _NO_ALLOCATION_ELSEWHERE,
    settings: GeneratorSettings = _DEFAULT_SETTINGS,
) -> tuple[GeneratedItem, ...]:
    """The project's checklist items, deterministic and ordered.

    Order: responsibilities, collaborations, mitigations (each in catalog order), then staffing
    findings by priority (most urgent first) and key. The order of `staffing` does not matter.
    """
    index = _index_staffing(catalog, staffing)
    required = required_roles(catalog, project)
    in_play = [r for r in _roles(catalog) if r.key in required or r.key in index.holders]
    report = _report(catalog, index, required, allocation_elsewhere, settings)
    return (
        *_responsibility_items(in_play, index, required),
        *_collaboration_items(catalog, {r.key for r in in_play}, index, required),
        *_mitigation_items(catalog, project, index),
        *(_finding_item(f) for f in report.findings),
    )


def _in_play_because(role: Role, required: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return required.get(role.key) or (f"{role.title} is staffed on this project",)


def _responsibility_items(
    roles: Iterable[Role], index: _Staffing, required: Mapping[str, tuple[str, ...]]
) -> Iterable[GeneratedItem]:
    for role in roles:
        owners = index.members_by_role.get(role.key, ())
        priority = "high" if role.key in required else "medium"
        for resp in sorted(role.responsibilities, key=lambda r: r.position):
            yield GeneratedItem(
                key=resp.key,
                kind="responsibility",
                title=resp.title,
                detail=resp.text,
                roles=(role.key,),
                owners=owners,
                priority=priority,
                because=(
                    f"Catalog responsibility {resp.key} of {role.title}",
                    *_in_play_because(role, required),
                ),
                source={**resp.source.as_dict(), "catalog_key": resp.key},
            )


def collaboration_pairs(catalog: Catalog) -> list[tuple[str, str, tuple[Collaboration, ...]]]:
    """Unordered collaborating pairs of the table, (role A, role B, rows naming the pair).

    A and B are in catalog role order; pairs come in order of first appearance in the table.
    A pair exists when either row lists the other role; the rows are those that do.
    """
    order = {r.key: r.position for r in catalog.roles}
    pairs: dict[tuple[str, str], list[Collaboration]] = {}
    for row in sorted(catalog.collaborations, key=lambda c: c.position):
        for other in row.collaborates_with:
            if row.role_key not in order or other not in order or other == row.role_key:
                continue
            a, b = sorted((row.role_key, other), key=order.__getitem__)
            rows = pairs.setdefault((a, b), [])
            if row not in rows:
                rows.append(row)
    return [(a, b, tuple(rows)) for (a, b), rows in pairs.items()]


def _collaboration_items(
    catalog: Catalog,
    in_play: set[str],
    index: _Staffing,
    required: Mapping[str, tuple[str, ...]],
) -> Iterable[GeneratedItem]:
    titles = _titles(catalog)
    for a, b, rows in collaboration_pairs(catalog):
        if a not in in_play or b not in in_play:
            continue
        outcomes = "; ".join(f"{titles[row.role_key]} — {', '.join(row.outcomes)}" for row in rows)
        because = [
            f"Collaboration table: {titles[row.role_key]} collaborates with "
            f"{titles[b if row.role_key == a else a]}"
            for row in rows
        ]
        because += [
            f"{titles[k]} is required" if k in required else f"{titles[k]} is staffed"
            for k in (a, b)
        ]
        yield GeneratedItem(
            key=f"collaboration.{a}.{b}",
            kind="collaboration",
            title=f"{titles[a]} and {titles[b]} collaborate",
            detail=(
                f"Agree how {titles[a]} and {titles[b]} work together. Key outcomes: {outcomes}."
            ),
            roles=(a, b),
            owners=_members_of(index, (a, b)),
            priority="medium",
            because=tuple(because),
            source={
                **rows[0].source.as_dict(),
                "catalog_keys": [row.key for row in rows],
                "outcomes": {row.role_key: list(row.outcomes) for row in rows},
            },
        )


def _mitigation_items(
    catalog: Catalog, project: ProjectFacts, index: _Staffing
) -> Iterable[GeneratedItem]:
    application = catalog.application(project.application)
    raises = dict(application.raises) if application is not None else {}
    for challenge in sorted(catalog.challenges, key=lambda c: c.position):
        for mitigation in sorted(challenge.mitigations, key=lambda m: m.position):
            if not mitigation.applies_when.holds(project.application, project.traits):
                continue
            priority, raised_because = _mitigation_priority(
                mitigation, challenge, project, application, raises.get(challenge.key)
            )
            yield GeneratedItem(
                key=mitigation.key,
                kind="mitigation",
                title=mitigation.title,
                detail=mitigation.detail,
                roles=mitigation.owner_roles,
                owners=_members_of(index, mitigation.owner_roles),
                priority=priority,
                because=(
                    f"Catalog mitigation {mitigation.key} for {challenge.title}",
                    *_applies_because(mitigation, challenge, project, application),
                    *raised_because,
                ),
                source={
                    **mitigation.source.as_dict(),
                    "catalog_key": mitigation.key,
                    "challenge": challenge.key,
                    "challenge_title": challenge.title,
                    "nist": list(mitigation.nist),
                },
            )


def _applies_because(
    mitigation: Mitigation,
    challenge: Challenge,
    project: ProjectFacts,
    application: Application | None,
) -> list[str]:
    if mitigation.applies_when.always:
        return [f"{challenge.title} concerns every generative-AI project"]
    return [
        _match_reason(match, application, "applies this mitigation")
        for match in mitigation.applies_when.matches(project.application, project.traits)
    ]


def _mitigation_priority(
    mitigation: Mitigation,
    challenge: Challenge,
    project: ProjectFacts,
    application: Application | None,
    application_raise: str | None,
) -> tuple[str, list[str]]:
    """The mitigation's priority after the raise rules, and a reason for each actual raise."""
    priority = mitigation.priority
    because: list[str] = []
    for rule in mitigation.raised_when:
        if not rule.when.holds(project.application, project.traits):
            continue
        if priority_rank(rule.priority) > priority_rank(mitigation.priority):
            effect = f"raised priority to {rule.priority}"
            matches = rule.when.matches(project.application, project.traits)
            because += [_match_reason(m, application, effect) for m in matches]
        priority = max_priority(priority, rule.priority)
    if application is not None and application_raise is not None:
        if priority_rank(application_raise) > priority_rank(mitigation.priority):
            because.append(
                f"Application {application.title} raised {challenge.title} to {application_raise}"
            )
        priority = max_priority(priority, application_raise)
    return priority, because


def _finding_item(finding: StaffingFinding) -> GeneratedItem:
    return GeneratedItem(
        key=finding.key,
        kind="staffing",
        title=finding.title,
        detail=finding.detail,
        roles=finding.roles,
        owners=finding.people if finding.kind != "unfilled_role" else (),
        priority=finding.priority,
        because=finding.because,
        source={**_STAFFING_SOURCE, "finding": finding.kind},
    )


# --------------------------------------------------------------------------- summary


def summarize(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status and kind of rendered item dicts, and the percent done.

    Waived and obsolete items do not count toward the percentage: it is done / (total - waived -
    obsolete), 100 when nothing is left to do, 0 for an empty checklist.
    """
    statuses = Counter(item.get("status", "open") for item in items)
    kinds = Counter(item.get("kind") for item in items)
    total = len(items)
    remaining = total - statuses["waived"] - statuses["obsolete"]
    if total == 0:
        percent = 0
    elif remaining <= 0:
        percent = 100
    else:
        percent = min(100, max(0, round(100 * statuses["done"] / remaining)))
    return {
        "total": total,
        "by_status": {status: statuses[status] for status in STATUSES},
        "by_kind": {kind: kinds[kind] for kind in KINDS},
        "percent_done": percent,
    }
