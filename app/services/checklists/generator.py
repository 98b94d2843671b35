"""The pure checklist engine: (catalog, project facts, staffing) -> checklist items.

No database, no Flask, no I/O. The stored checklist and the preview both call it, so every rule
about what a project must do lives here (which items, in which order) and in the modules it
builds on: `checklists.generated_items` (what each kind of item says), `checklists.facts`
(traits, staffing index, required roles), `staffing.findings` and `checklists.summary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from app.services.catalog.model import Catalog, priority_rank
from app.services.checklists.facts import (
    DEFAULT_SETTINGS,
    GeneratorSettings,
    Member,
    ProjectFacts,
    Staffing,
    StaffingEntry,
    index_staffing,
    project_traits,
    required_by,
    required_roles,
    resolve,
    role_titles,
    roles_of,
)
from app.services.checklists.generated_items import (
    GeneratedItem,
    collaboration_pairs,
    context_items,
    finding_item,
    mitigation_items,
    responsibility_items,
)
from app.services.checklists.summary import KINDS, STATUSES, summarize, summary_of
from app.services.staffing.findings import (
    FINDING_KINDS,
    NO_ALLOCATION_ELSEWHERE,
    SEPARATED_ROLES,
    OverAllocation,
    RoleCoverage,
    StaffingFinding,
    StaffingReport,
    overallocated_members,
    report,
    with_reviewer_findings,
)
from app.services.staffing.ownership import ownership_findings
from app.vocabulary import PHASES, ItemKind

__all__ = [
    "FINDING_KINDS",
    "KINDS",
    "SEPARATED_ROLES",
    "STATUSES",
    "GeneratedItem",
    "GeneratorSettings",
    "Member",
    "OverAllocation",
    "ProjectFacts",
    "RoleCoverage",
    "StaffingEntry",
    "StaffingFinding",
    "StaffingReport",
    "collaboration_pairs",
    "generate_checklist",
    "overallocated_members",
    "project_traits",
    "required_roles",
    "staffing_report",
    "summarize",
    "summary_of",
]

# Inside a phase and a priority: what the project's context asks first (a stop, its risk
# classification), then what is wrong with the staffing, then the concrete mitigations, then
# the roles' own tasks, then the collaborations.
_KIND_ORDER: dict[str, int] = {
    ItemKind.CONTEXT: 0,
    ItemKind.STAFFING: 1,
    ItemKind.MITIGATION: 2,
    ItemKind.RESPONSIBILITY: 3,
    ItemKind.COLLABORATION: 4,
}


def generate_checklist(
    catalog: Catalog,
    project: ProjectFacts,
    staffing: Iterable[StaffingEntry],
    *,
    allocation_elsewhere: Mapping[str, int] = NO_ALLOCATION_ELSEWHERE,
    settings: GeneratorSettings = DEFAULT_SETTINGS,
) -> tuple[GeneratedItem, ...]:
    """The project's checklist items, deterministic and ordered.

    Order: by lifecycle phase (PHASES), most urgent first inside a phase, then what the
    project's context asks, staffing findings, mitigations and responsibilities, each in
    catalog order. The collaboration table's pairs are agreed in one ownership item (the
    mitigation that `agrees_collaborations`), not one item a pair. The order of `staffing`
    does not matter.
    """
    items, _ = _generate(catalog, project, staffing, allocation_elsewhere, settings)
    return items


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
    projects; it feeds the over-allocation finding. The findings are those of the checklist,
    including the items nobody independent can sign off.
    """
    return _generate(catalog, project, staffing, allocation_elsewhere, settings)[1]


def _generate(
    catalog: Catalog,
    project: ProjectFacts,
    staffing: Iterable[StaffingEntry],
    allocation_elsewhere: Mapping[str, int],
    settings: GeneratorSettings,
) -> tuple[tuple[GeneratedItem, ...], StaffingReport]:
    facts = resolve(catalog, project)
    index = index_staffing(catalog, staffing)
    required = required_by(catalog, facts)
    in_play = [r for r in roles_of(catalog) if r.key in required or r.key in index.holders]
    playing = {r.key for r in in_play}
    mitigations = list(mitigation_items(catalog, facts, index, playing))
    # One item per obligation: where a mitigation stands for a responsibility, it alone is there.
    fulfilled = {f["catalog_key"] for item in mitigations for f in item.source["fulfils"]}
    work = [
        *context_items(catalog, facts, index, playing),
        *responsibility_items(in_play, index, required, fulfilled, facts),
        *mitigations,
    ]
    base = report(catalog, index, required, allocation_elsewhere, settings)
    titles = role_titles(catalog)
    unfilled = [r for r in required if r not in index.holders]
    could_own = {m.key: m.owner_roles for c in catalog.challenges for m in c.mitigations}
    could_own.update((c.key, c.owner_roles) for c in catalog.context_items)
    findings = sorted(
        [
            *with_reviewer_findings(base.findings, work, index, titles),
            *ownership_findings(work, index, titles, could_own, unfilled),
        ],
        key=lambda f: (-priority_rank(f.priority), f.key),
    )
    resolvers = _resolvers(index)
    items = [*work, *(finding_item(f, resolvers) for f in findings)]
    order = {item.key: n for n, item in enumerate(items)}
    items.sort(
        key=lambda i: (
            PHASES.index(i.phase),
            -priority_rank(i.priority),
            _KIND_ORDER[i.kind],
            order[i.key],
        )
    )
    return tuple(items), StaffingReport(roles=base.roles, findings=tuple(findings))


def _resolvers(index: Staffing) -> tuple[Member, ...]:
    """Who can resolve a staffing finding: the project's leads, then its product managers."""
    leads = [e.member for entries in index.holders.values() for e in entries if e.lead]
    managers = index.members_by_role.get("product-manager", ())
    return tuple({m.ref: m for m in [*leads, *managers]}.values())
